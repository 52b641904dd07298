from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.models import Account


class AlertRule(models.Model):
    """A condition on the account's figures, checked by celery beat every minute."""

    class Kind(models.TextChoices):
        HANDOFF_RATE = "handoff_rate", "Hand-off rate above a share"
        CIRCULAR_HANDOFFS = "circular_handoffs", "Circular hand-offs stopped"
        STEP_LIMITS = "step_limits", "Step limits hit more than N times"
        GATE_DENIALS = "gate_denials", "Permission-gate denials, refusals or tool failures"
        ERROR_RATE_SPIKE = "error_rate_spike", "Error rate spike against the previous window"
        SLA_BREACHES = "sla_breaches", "Escalations past their SLA"

    class Severity(models.TextChoices):
        WARNING = "warning", "Warning"
        CRITICAL = "critical", "Critical"

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="alert_rules")
    kind = models.CharField(max_length=30, choices=Kind.choices)
    threshold = models.FloatField(
        help_text="A share (0.3 = 30%) for the hand-off rate, a factor (2 = doubled) for the error-rate "
        "spike, a count for the others: the rule fires when the figure is above it."
    )
    window_minutes = models.PositiveIntegerField(default=60, help_text="How far back the figure looks.")
    min_volume = models.PositiveIntegerField(
        default=20, help_text="Rates only: fewer conversations or replies than this never fire."
    )
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.WARNING)
    enabled = models.BooleanField(default=True)
    # A silence: the rule neither fires nor emails until then (a known cause being worked on).
    silenced_until = models.DateTimeField(null=True, blank=True)
    silenced_at = models.DateTimeField(null=True, blank=True)
    silenced_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    silence_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["kind", "id"]
        indexes = [models.Index(fields=["enabled", "account"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.account.slug})"

    def is_silenced(self, now: datetime | None = None) -> bool:
        return self.silenced_until is not None and self.silenced_until > (now or timezone.now())

    @property
    def description(self) -> str:
        minutes = self.window_minutes
        span = f"{minutes // 60} h" if minutes % 60 == 0 else f"{minutes} min"
        if self.kind == self.Kind.HANDOFF_RATE:
            return f"Hand-off rate above {self.threshold:.0%} over the last {span}"
        if self.kind == self.Kind.ERROR_RATE_SPIKE:
            return f"Error rate above {self.threshold:g} times the previous {span}"
        if self.kind == self.Kind.SLA_BREACHES:
            return f"More than {self.threshold:g} escalations in the queue past their SLA"
        noun = {
            self.Kind.CIRCULAR_HANDOFFS: "circular hand-offs stopped",
            self.Kind.STEP_LIMITS: "step limits hit",
            self.Kind.GATE_DENIALS: "gate denials, refusals and tool failures",
        }[self.kind]
        return f"More than {self.threshold:g} {noun} in the last {span}"


class Alert(models.Model):
    """One firing of a rule: open while the condition holds, then resolved. Emailed once."""

    class Status(models.TextChoices):
        FIRING = "firing", "Firing"
        RESOLVED = "resolved", "Resolved"

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="alerts")
    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="alerts")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.FIRING)
    severity = models.CharField(max_length=10, choices=AlertRule.Severity.choices)
    message = models.TextField()
    value = models.FloatField(help_text="The figure when it fired.")
    last_value = models.FloatField(help_text="The figure at the latest check.")
    fired_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    last_checked_at = models.DateTimeField()
    emailed_at = models.DateTimeField(null=True, blank=True)
    emailed_to = models.JSONField(default=list, blank=True)
    # Someone has seen it and is on it: shown as such, and no longer counted in the nav badge.
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    acknowledge_note = models.TextField(blank=True)

    class Meta:
        ordering = ["-fired_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["rule"], condition=Q(status="firing"), name="one_firing_alert_per_rule"
            ),
        ]
        indexes = [models.Index(fields=["account", "status", "-fired_at"])]

    def __str__(self) -> str:
        return f"{self.message} ({self.status})"


class TrafficBatch(models.Model):
    """One run of ``generate_traffic``: what synthetic traffic an account holds, so the demo seed
    generates it once."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="traffic_batches")
    conversations = models.PositiveIntegerField()
    messages = models.PositiveIntegerField()
    handoffs = models.PositiveIntegerField()
    days = models.FloatField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "traffic batches"

    def __str__(self) -> str:
        return f"{self.conversations} synthetic conversations for {self.account}"


# --- Aggregates maintained by Celery -------------------------------------------------------
# At a million hand-offs, aggregating the raw tables per page is too slow (bench/analytics_queries.py
# measured 0.4 s at 5k conversations). The pages read these instead: one row per conversation, and
# hourly rows per agent and model; beat refreshes the recent ones every minute (analytics.rollups).


class ConversationFact(models.Model):
    """What one conversation amounted to: its arm, its first agent and whether that agent handed
    it off in its first turn, its hand-offs, turns, failures, cost, latency and feedback.

    ``shadow`` marks the hidden conversations of the rollout's shadow phase: the multi-agent system
    answering what the legacy arm served. They count as work the system did (hand-offs, routing,
    agents) but not in the cohort arms, where they would count the same question twice."""

    conversation = models.OneToOneField(
        "conversations.Conversation",
        on_delete=models.CASCADE,
        related_name="analytics_fact",
        primary_key=True,
    )
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField()
    arm = models.CharField(max_length=20)
    routed = models.BooleanField()
    first_agent_id = models.BigIntegerField(null=True)
    first_turn_handoff = models.BooleanField(default=False)
    handoffs = models.PositiveIntegerField(default=0)
    user_turns = models.PositiveIntegerField(default=0)
    failed_replies = models.PositiveIntegerField(default=0)
    cost_usd = models.FloatField(default=0)
    latency_count = models.PositiveIntegerField(default=0)
    latency_sum = models.FloatField(default=0)
    latency_squares = models.FloatField(default=0)
    thumbs_up = models.PositiveIntegerField(default=0)
    thumbs_down = models.PositiveIntegerField(default=0)
    escalated = models.BooleanField(default=False)
    shadow = models.BooleanField(default=False)

    class Meta:
        indexes = [
            models.Index(fields=["account", "created_at"]),
            models.Index(fields=["account", "-handoffs", "created_at"], name="analytics_fact_busiest"),
        ]

    def __str__(self) -> str:
        return f"Facts of conversation {self.conversation_id}"


class ConversationHour(models.Model):
    """Conversations started in one hour, per arm, routing, shadow or not, and first agent: the facts
    summed, with sums of squares so that means and their intervals can be computed over any range
    of hours."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    hour = models.DateTimeField()
    arm = models.CharField(max_length=20)
    routed = models.BooleanField()
    shadow = models.BooleanField(default=False)
    first_agent_id = models.BigIntegerField(null=True)
    conversations = models.PositiveIntegerField(default=0)
    with_handoff = models.PositiveIntegerField(default=0)
    first_turn_handoffs = models.PositiveIntegerField(default=0)
    with_error = models.PositiveIntegerField(default=0)
    escalated = models.PositiveIntegerField(default=0)
    turns = models.BigIntegerField(default=0)
    turns_squares = models.BigIntegerField(default=0)
    cost_usd = models.FloatField(default=0)
    cost_squares = models.FloatField(default=0)
    latency_count = models.BigIntegerField(default=0)
    latency_sum = models.FloatField(default=0)
    latency_squares = models.FloatField(default=0)
    thumbs_up = models.PositiveIntegerField(default=0)
    thumbs_down = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["account", "hour"])]

    def __str__(self) -> str:
        return f"{self.hour:%Y-%m-%d %H}:00 {self.arm}: {self.conversations} conversations"


class ReplySums(models.Model):
    """Sums of agent replies over a period (``hour`` is its start), per arm, agent and model.
    Latencies are kept as log histograms (bins 4% wide) so that percentiles can be read over any
    range of periods."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    hour = models.DateTimeField()
    arm = models.CharField(max_length=20)
    agent_id = models.BigIntegerField(null=True)
    model = models.CharField(max_length=200)
    replies = models.PositiveIntegerField(default=0)
    complete = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    prompt_tokens = models.BigIntegerField(default=0)
    completion_tokens = models.BigIntegerField(default=0)
    cost_usd = models.FloatField(default=0)
    latency_count = models.PositiveIntegerField(default=0)
    latency_sum = models.FloatField(default=0)
    latency_bins = models.JSONField(default=dict)
    first_token_bins = models.JSONField(default=dict)
    thumbs_up = models.PositiveIntegerField(default=0)
    thumbs_down = models.PositiveIntegerField(default=0)

    class Meta:
        abstract = True
        indexes = [models.Index(fields=["account", "hour"])]


class ReplyHour(ReplySums):
    """Agent replies created in one hour."""

    class Meta(ReplySums.Meta):
        abstract = False

    def __str__(self) -> str:
        return f"{self.hour:%Y-%m-%d %H}:00 agent {self.agent_id} {self.model}: {self.replies} replies"


class ReplyDay(ReplySums):
    """The same sums as ``ReplyHour`` for a whole UTC day: a month-long window reads 30 of these per
    agent and model (and the hours at its edges) rather than 720 hours."""

    hour = models.DateTimeField(help_text="The day's first hour (UTC).")

    class Meta(ReplySums.Meta):
        abstract = False

    def __str__(self) -> str:
        return f"{self.hour:%Y-%m-%d} agent {self.agent_id} {self.model}: {self.replies} replies"


class HandoffHour(models.Model):
    """Hand-offs made in one hour, per path and way (agent tool or router)."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    hour = models.DateTimeField()
    from_agent_id = models.BigIntegerField(null=True)
    to_agent_id = models.BigIntegerField(null=True)
    via = models.CharField(max_length=20)
    count = models.PositiveIntegerField()

    class Meta:
        indexes = [models.Index(fields=["account", "hour"])]

    def __str__(self) -> str:
        return f"{self.hour:%Y-%m-%d %H}:00 {self.from_agent_id} -> {self.to_agent_id}: {self.count}"


class GuardrailHour(models.Model):
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    hour = models.DateTimeField()
    kind = models.CharField(max_length=20)
    count = models.PositiveIntegerField()

    class Meta:
        indexes = [models.Index(fields=["account", "hour"])]

    def __str__(self) -> str:
        return f"{self.hour:%Y-%m-%d %H}:00 {self.kind}: {self.count}"


class RollupState(models.Model):
    """Up to when an account's aggregates are complete: the refresh recomputes from here."""

    account = models.OneToOneField(Account, on_delete=models.CASCADE, related_name="+", primary_key=True)
    refreshed_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"Aggregates of account {self.account_id} up to {self.refreshed_at:%Y-%m-%d %H:%M}"


# Evaluation datasets and runs live in their own module (analytics/evaluation/).
from analytics.evaluation.models import (  # noqa: E402, F401
    EvaluationCase,
    EvaluationDataset,
    EvaluationResult,
    EvaluationRun,
)

# Readiness reports and the guarded rollout's looks live in their own module (analytics/release/).
from analytics.release.models import ReadinessReport, RolloutGuardLook  # noqa: E402, F401

# Improvement suggestions live in their own module (analytics/suggestions/).
from analytics.suggestions.models import Suggestion, SuggestionRefresh  # noqa: E402, F401
