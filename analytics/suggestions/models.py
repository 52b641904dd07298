"""Improvement suggestions and the record of each account's last refresh.

Imported by ``analytics.models`` so Django finds the models in the analytics app."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from accounts.models import Account
from agents.models import AgentInstance
from escalations.models import LearnedPattern


class Suggestion(models.Model):
    """One concrete change, backed by the questions that call for it (``evidence``).

    The refresh updates a suggestion in place while its cluster lasts, so the same evidence keeps
    the same suggestion; a dismissed one stays dismissed until its cluster grows materially."""

    class Kind(models.TextChoices):
        ARTICLE = "article", "Add an article"
        SCOPE = "scope", "Cover out-of-scope questions"
        ROUTING = "routing", "Add routing examples"
        PATTERN = "pattern", "Review a learned pattern"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        ACCEPTED = "accepted", "Accepted"
        DISMISSED = "dismissed", "Dismissed"

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="suggestions")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    key = models.CharField(max_length=200, help_text="Identity across refreshes, within the account.")
    title = models.CharField(max_length=300)
    topic = models.CharField(max_length=200, blank=True, help_text="What the clustered questions are about.")
    evidence = models.JSONField(default=list, help_text="The questions behind it, newest first.")
    evidence_count = models.PositiveIntegerField(default=0)
    centroid = models.JSONField(null=True, blank=True, help_text="Mean MiniLM vector of the questions.")
    agent = models.ForeignKey(
        AgentInstance,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text="Routing: the agent the questions should reach.",
    )
    from_agent = models.ForeignKey(
        AgentInstance,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Routing: the agent they were routed to first (the most common one).",
    )
    pattern = models.ForeignKey(
        LearnedPattern, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN)
    decided_count = models.PositiveIntegerField(
        default=0,
        help_text="Evidence when it was accepted or dismissed: it reopens when it grows well past it.",
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reopened_from = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="The evidence count it was dismissed or accepted at, when it reopened.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    changed_at = models.DateTimeField(help_text="When its evidence last changed.")

    class Meta:
        ordering = ["-evidence_count", "id"]
        constraints = [
            models.UniqueConstraint(fields=["account", "key"], name="unique_suggestion_key_per_account"),
        ]
        indexes = [models.Index(fields=["account", "status"])]

    def __str__(self) -> str:
        return self.title


class SuggestionRefresh(models.Model):
    """When an account's suggestions were last brought up to date, and what that found."""

    account = models.OneToOneField(Account, on_delete=models.CASCADE, related_name="+", primary_key=True)
    refreshed_at = models.DateTimeField()
    questions = models.PositiveIntegerField(default=0, help_text="Evidence items read.")
    open_count = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"Suggestions of account {self.account_id} at {self.refreshed_at:%Y-%m-%d %H:%M}"
