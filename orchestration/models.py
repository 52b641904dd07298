"""Runs of agents: a WorkflowRun (one request, one mode) and its TaskRuns, plus the
capabilities each agent declares, which the planner uses to estimate and to choose agents."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from accounts.models import Account
from agents.models import AgentInstance
from durable.models import LeasedWork


class AgentCapability(models.Model):
    """Something an agent can be asked to do, with what it costs in time and money."""

    agent = models.ForeignKey(AgentInstance, on_delete=models.CASCADE, related_name="capabilities")
    name = models.SlugField(max_length=60, help_text="What a task names to ask for it, e.g. vendor_research.")
    description = models.TextField(blank=True)
    input_type = models.CharField(max_length=60, default="text")
    output_type = models.CharField(max_length=60, default="text")
    estimated_seconds = models.FloatField(default=10.0)
    cost_estimate_usd = models.DecimalField(max_digits=10, decimal_places=4, default=Decimal("0"))
    priority = models.PositiveSmallIntegerField(
        default=100, help_text="Lower is preferred when several agents have the capability."
    )

    class Meta:
        ordering = ["name", "priority"]
        verbose_name_plural = "agent capabilities"
        constraints = [
            models.UniqueConstraint(fields=["agent", "name"], name="unique_capability_per_agent"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.agent.slug})"

    def clean(self) -> None:
        if self.estimated_seconds is not None and self.estimated_seconds < 0:
            raise ValidationError({"estimated_seconds": "The estimated time cannot be negative."})
        if self.cost_estimate_usd is not None and self.cost_estimate_usd < 0:
            raise ValidationError({"cost_estimate_usd": "The cost estimate cannot be negative."})


class RunStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    IN_PROGRESS = "in_progress", "In progress"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


FINAL_STATUSES = frozenset({RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.CANCELLED})


class WorkflowRun(models.Model):
    class Mode(models.TextChoices):
        SEQUENTIAL = "sequential", "Sequential"
        PARALLEL = "parallel", "Parallel"
        HIERARCHICAL = "hierarchical", "Hierarchical"
        CONSENSUS = "consensus", "Consensus"
        DELEGATE = "delegate", "Delegated from a conversation"

    class Strategy(models.TextChoices):
        CONCAT = "concat", "Concatenate"
        VOTE = "vote", "Vote"
        MERGE = "merge", "Merge (a model combines the results)"

    Status = RunStatus

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="workflow_runs")
    mode = models.CharField(max_length=20, choices=Mode.choices)
    request = models.TextField(blank=True, help_text="What the run is for, in the user's words.")
    status = models.CharField(max_length=20, choices=RunStatus.choices, default=RunStatus.PENDING)
    strategy = models.CharField(
        max_length=20, choices=Strategy.choices, blank=True, help_text="How hierarchical runs aggregate."
    )
    min_agreement = models.FloatField(default=0.5, help_text="Share of agents that must agree (consensus).")
    strict = models.BooleanField(default=True, help_text="Sequential: stop at the first failure.")
    aggregator = models.ForeignKey(
        AgentInstance,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The agent that merges results (hierarchical, merge) or judges answers (consensus).",
    )
    result = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    conversation = models.ForeignKey(
        "conversations.Conversation",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="workflow_runs",
    )
    # A delegate tool call retried after a crash finds its run by this key instead of starting another.
    idempotency_key = models.CharField(max_length=100, blank=True)
    estimated_seconds = models.FloatField(default=0)
    estimated_cost_usd = models.DecimalField(max_digits=12, decimal_places=6, default=Decimal("0"))
    tokens = models.PositiveIntegerField(default=0)
    cost_usd = models.DecimalField(max_digits=12, decimal_places=6, default=Decimal("0"))
    # Claimed once by the worker that aggregates, so a duplicate join does not aggregate twice.
    finishing_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["account", "-created_at"]),
            models.Index(fields=["status"]),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "idempotency_key"],
                condition=~models.Q(idempotency_key=""),
                name="unique_run_idempotency_key",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_mode_display()} run #{self.pk}"

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None


class TaskRun(LeasedWork):
    Status = RunStatus

    run = models.ForeignKey(WorkflowRun, on_delete=models.CASCADE, related_name="tasks")
    position = models.PositiveSmallIntegerField(default=0)
    agent = models.ForeignKey(
        AgentInstance, on_delete=models.SET_NULL, null=True, blank=True, related_name="task_runs"
    )
    # What the task asked for, kept even when the agent is gone or was never found.
    agent_slug = models.CharField(max_length=60, blank=True)
    capability = models.CharField(max_length=60, blank=True)
    description = models.TextField(blank=True)
    input = models.TextField(blank=True)
    status = models.CharField(max_length=20, choices=RunStatus.choices, default=RunStatus.PENDING)
    result = models.TextField(blank=True)
    error = models.TextField(blank=True)
    # attempts and lease_expires_at (renewed while a worker runs the task; an expired lease
    # means its worker died) come from LeasedWork.
    max_attempts = models.PositiveSmallIntegerField(default=3)
    timeout_seconds = models.FloatField(default=120)
    estimated_seconds = models.FloatField(default=0)
    estimated_cost_usd = models.DecimalField(max_digits=12, decimal_places=6, default=Decimal("0"))
    celery_task_id = models.CharField(max_length=64, blank=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    model = models.CharField(max_length=200, blank=True)
    prompt_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)
    cost_usd = models.DecimalField(max_digits=12, decimal_places=6, default=Decimal("0"))
    latency_ms = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["run", "position", "id"]
        indexes = [models.Index(fields=["status", "lease_expires_at"])]

    def __str__(self) -> str:
        return f"task {self.position + 1} of run #{self.run_id}"

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None

    @property
    def agent_label(self) -> str:
        return self.agent.name if self.agent else (self.agent_slug or self.capability or "?")
