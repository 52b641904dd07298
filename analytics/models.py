from django.db import models
from django.db.models import Q

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
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["kind", "id"]
        indexes = [models.Index(fields=["enabled", "account"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.account.slug})"

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
