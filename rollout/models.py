"""Feature flags that move users from the legacy single agent to the multi-agent system.

A ``Flag`` is global; an account may override its phase, percentage and kill switch with an
``AccountFlag`` (a blank field inherits the global value). ``FlagOverride`` pins one user of one
account on or off. Every change, from every entry point, is a ``FlagChange`` row.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from accounts.models import Account

PERCENTAGE_VALIDATORS = [MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))]


class Phase(models.TextChoices):
    OFF = "off", "Off"
    SHADOW = "shadow", "Shadow"
    CANARY = "canary", "Canary"
    PARTIAL = "partial", "Partial"
    FULL = "full", "Full"


PHASE_ORDER = [Phase.OFF, Phase.SHADOW, Phase.CANARY, Phase.PARTIAL, Phase.FULL]
# The percentage a phase starts at. In shadow the percentage is the share of users whose
# messages the multi-agent system also answers in the background; nobody is served by it.
PHASE_PERCENTAGE = {
    Phase.OFF: Decimal("0"),
    Phase.SHADOW: Decimal("100"),
    Phase.CANARY: Decimal("10"),
    Phase.PARTIAL: Decimal("50"),
    Phase.FULL: Decimal("100"),
}
SERVING_PHASES = frozenset({Phase.CANARY, Phase.PARTIAL, Phase.FULL})


class Flag(models.Model):
    key = models.SlugField(max_length=60, unique=True)
    description = models.TextField(blank=True)
    enabled = models.BooleanField(
        default=True, help_text="Off is the kill switch: nobody but users with an 'on' override is in."
    )
    percentage = models.DecimalField(
        max_digits=4, decimal_places=1, default=Decimal("0"), validators=PERCENTAGE_VALIDATORS
    )
    phase = models.CharField(max_length=20, choices=Phase.choices, default=Phase.OFF)
    group_id = models.CharField(
        max_length=60, blank=True, help_text="Hash group of the bucket; blank uses the key."
    )
    gates = models.JSONField(
        default=dict,
        blank=True,
        help_text='Gate settings, e.g. {"window_days": 7, "handoff_rate": {"max": 0.2}, '
        '"routing_accuracy": {"min": 0.9}, "error_rate": {"enabled": false}}.',
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["key"]

    def __str__(self) -> str:
        return self.key

    @property
    def hash_group(self) -> str:
        return self.group_id or self.key


class AccountFlag(models.Model):
    """One account's own phase, percentage or kill switch for a flag; blank inherits."""

    flag = models.ForeignKey(Flag, on_delete=models.CASCADE, related_name="account_settings")
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="flag_settings")
    enabled = models.BooleanField(null=True, blank=True)
    percentage = models.DecimalField(
        max_digits=4, decimal_places=1, null=True, blank=True, validators=PERCENTAGE_VALIDATORS
    )
    phase = models.CharField(max_length=20, choices=Phase.choices, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["flag", "account"], name="unique_account_flag")]
        ordering = ["flag__key", "account__name"]

    def __str__(self) -> str:
        return f"{self.flag} in {self.account}"


class FlagOverride(models.Model):
    """One user of one account pinned in (on) or out (off), ahead of the kill switch and bucket."""

    flag = models.ForeignKey(Flag, on_delete=models.CASCADE, related_name="overrides")
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="flag_overrides")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="flag_overrides"
    )
    enabled = models.BooleanField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["flag", "account", "user"], name="unique_flag_override")
        ]
        ordering = ["flag__key", "user__username"]

    def __str__(self) -> str:
        return f"{self.flag} {'on' if self.enabled else 'off'} for {self.user} in {self.account}"


class FlagChange(models.Model):
    """The audit log: who changed what, when, from which entry point, and why."""

    class Source(models.TextChoices):
        ADMIN = "admin", "Django admin"
        PAGE = "page", "Rollout page"
        API = "api", "API"
        COMMAND = "command", "Management command"
        SEED = "seed", "Demo seed"
        GUARDRAIL = "guardrail", "Guarded rollout (automatic)"

    class Action(models.TextChoices):
        CREATE = "create", "Created"
        UPDATE = "update", "Updated"
        ROLLBACK = "rollback", "Rolled back"
        OVERRIDE = "override", "User override"

    flag = models.ForeignKey(Flag, on_delete=models.CASCADE, related_name="changes")
    account = models.ForeignKey(
        Account,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="flag_changes",
        help_text="Blank for a change of the global flag.",
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_name = models.CharField(max_length=150, help_text="Kept when the user is deleted.")
    source = models.CharField(max_length=20, choices=Source.choices)
    action = models.CharField(max_length=20, choices=Action.choices, default=Action.UPDATE)
    reason = models.TextField()
    before = models.JSONField(default=dict)
    after = models.JSONField(default=dict)
    gate_results = models.JSONField(default=list, blank=True)
    gates_overridden = models.BooleanField(
        default=False, help_text="Advanced although a gate failed, by an admin with a written reason."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["flag", "account", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.flag} {self.action} by {self.actor_name} ({self.source})"

    @property
    def diff(self) -> list[tuple[str, object, object]]:
        """(field, before, after) for each value that changed."""
        keys = list(self.after) + [k for k in self.before if k not in self.after]
        return [
            (key, self.before.get(key), self.after.get(key))
            for key in keys
            if self.before.get(key) != self.after.get(key)
        ]
