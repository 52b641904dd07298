"""What decides a release: readiness reports, and the guarded rollout's looks at both arms.

Imported by ``analytics.models`` so Django finds the models in the analytics app."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from accounts.models import Account
from rollout.models import Flag, FlagChange


class ReadinessReport(models.Model):
    """One run of the readiness checks for an account, kept so the rollout gate (and anyone
    downloading it later) reads the same evidence the admin saw."""

    class Status(models.TextChoices):
        PRODUCTION_READY = "PRODUCTION_READY", "Production ready"
        PARTIALLY_READY = "PARTIALLY_READY", "Partially ready"
        NEEDS_ATTENTION = "NEEDS_ATTENTION", "Needs attention"
        NOT_READY = "NOT_READY", "Not ready"

    class Source(models.TextChoices):
        PAGE = "page", "Readiness page"
        API = "api", "API"
        COMMAND = "command", "Management command"

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="readiness_reports")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    source = models.CharField(max_length=20, choices=Source.choices)
    score = models.PositiveSmallIntegerField(help_text="Checks passed / checks x 100, rounded down.")
    status = models.CharField(max_length=20, choices=Status.choices)
    checks = models.JSONField(default=list, help_text="[{key, label, status, evidence}] in order.")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["account", "-created_at"])]

    def __str__(self) -> str:
        return f"Readiness of {self.account_id}: {self.score} {self.status}"


class RolloutGuardLook(models.Model):
    """One look of the guarded rollout at both arms of a flag in canary or partial: the counts
    since the phase began, each guardrail metric's always-valid p-value, and what was decided."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="rollout_guard_looks")
    flag = models.ForeignKey(Flag, on_delete=models.CASCADE, related_name="+")
    phase = models.CharField(max_length=20)
    percentage = models.CharField(max_length=8)
    phase_started_at = models.DateTimeField(help_text="The looks of one phase share a test.")
    looked_at = models.DateTimeField()
    legacy = models.JSONField(default=dict)
    multi_agent = models.JSONField(default=dict)
    metrics = models.JSONField(default=list, help_text="[{key, label, hits and trials per arm, p_value}]")
    rolled_back = models.BooleanField(default=False)
    reason = models.TextField(blank=True)
    flag_change = models.ForeignKey(
        FlagChange, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    emailed_at = models.DateTimeField(null=True, blank=True)
    emailed_to = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-looked_at", "-id"]
        indexes = [models.Index(fields=["account", "flag", "-looked_at"])]

    def __str__(self) -> str:
        return f"Guard look at {self.flag_id} in {self.account_id} ({self.looked_at:%Y-%m-%d %H:%M})"
