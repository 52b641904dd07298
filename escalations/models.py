"""Escalations: a request the agents could not settle, climbing a ladder of ever more
expensive help (a learned quick fix, one research agent, three agents voting, a person).
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from accounts.models import Account
from agents.models import AgentInstance
from conversations.models import Conversation, Message
from durable.models import LeasedWork


class Phase(models.TextChoices):
    QUICK_FIX = "quick_fix", "Quick fix"
    RESEARCH = "research", "Research agent"
    CONSULTATION = "consultation", "Consultation"
    HUMAN = "human", "Human"


LADDER = [Phase.QUICK_FIX, Phase.RESEARCH, Phase.CONSULTATION, Phase.HUMAN]


class EscalationPolicy(models.Model):
    """Per account: which phases run and the thresholds that let a phase answer."""

    account = models.OneToOneField(Account, on_delete=models.CASCADE, related_name="escalation_policy")
    quick_fix_enabled = models.BooleanField(default=True)
    quick_fix_threshold = models.FloatField(
        default=0.75, help_text="Cosine similarity (0-1) a learned pattern needs to answer."
    )
    research_enabled = models.BooleanField(default=True)
    research_agent = models.ForeignKey(
        AgentInstance,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Blank: the account's research agent, else its default agent.",
    )
    research_threshold = models.FloatField(
        default=0.7, help_text="Confidence (0-1) the research agent's answer needs to be used."
    )
    consultation_enabled = models.BooleanField(default=True)
    consultation_agents = models.ManyToManyField(
        AgentInstance,
        blank=True,
        related_name="+",
        help_text="The three agents consulted; blank: three of the account's active agents.",
    )
    consultation_judge = models.ForeignKey(
        AgentInstance,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=(
            "An agent that decides which answers mean the same before the vote (worth it with hosted "
            "models, whose wordings differ). Blank: answers agree when they match once normalised."
        ),
    )
    consultation_required_votes = models.PositiveSmallIntegerField(
        default=2, help_text="Agreeing votes of the three needed to use the answer: 2 or 3."
    )
    first_response_sla_minutes = models.PositiveIntegerField(default=30)
    resolution_sla_minutes = models.PositiveIntegerField(default=480)
    email_operators = models.BooleanField(
        default=True, help_text="Email the operators when a request reaches them."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "escalation policies"

    def __str__(self) -> str:
        return f"Escalation policy of {self.account}"

    def clean(self) -> None:
        errors = {}
        for name in ("quick_fix_threshold", "research_threshold"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                errors[name] = "A threshold is between 0 and 1."
        if self.consultation_required_votes not in (2, 3):
            errors["consultation_required_votes"] = "Choose 2 (two of three agree) or 3 (all three)."
        if self.first_response_sla_minutes < 1 or self.resolution_sla_minutes < 1:
            errors["resolution_sla_minutes"] = "SLA targets are at least one minute."
        if self.research_agent_id and self.research_agent.account_id != self.account_id:
            errors["research_agent"] = "That agent belongs to another account."
        if self.consultation_judge_id and self.consultation_judge.account_id != self.account_id:
            errors["consultation_judge"] = "That agent belongs to another account."
        if errors:
            raise ValidationError(errors)

    def phase_enabled(self, phase: str) -> bool:
        return {
            Phase.QUICK_FIX: self.quick_fix_enabled,
            Phase.RESEARCH: self.research_enabled,
            Phase.CONSULTATION: self.consultation_enabled,
            Phase.HUMAN: True,
        }[phase]


class Escalation(models.Model):
    class Trigger(models.TextChoices):
        CANNOT_RESOLVE = "cannot_resolve", "An agent could not resolve it"
        ASKED_FOR_PERSON = "asked_for_person", "The user asked for a person"
        STEP_LIMIT = "step_limit", "Step limit reached"
        HANDOFF_LOOP = "handoff_loop", "Circular hand-off stopped"
        APPROVAL_DENIED = "approval_denied", "A denied action left it undone"
        THUMBS_DOWN = "thumbs_down", "Thumbs down on a reply"
        MANUAL = "manual", "Escalated by an operator"

    class Status(models.TextChoices):
        LADDER = "ladder", "On the ladder"
        OPEN = "open", "Open"
        CLAIMED = "claimed", "Claimed"
        WAITING_ON_USER = "waiting_on_user", "Waiting on user"
        RESOLVED = "resolved", "Resolved"

    class Priority(models.IntegerChoices):
        LOW = 1, "Low"
        NORMAL = 2, "Normal"
        HIGH = 3, "High"
        URGENT = 4, "Urgent"

    class EmailStatus(models.TextChoices):
        NOT_NEEDED = "", "Not needed"
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed (retrying)"
        NO_RECIPIENTS = "no_recipients", "No operator has an email address"

    IN_QUEUE = (Status.OPEN, Status.CLAIMED, Status.WAITING_ON_USER)

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="escalations")
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="escalations")
    message = models.ForeignKey(
        Message,
        on_delete=models.CASCADE,
        related_name="escalations",
        help_text="The message that set it off.",
    )
    trigger = models.CharField(max_length=30, choices=Trigger.choices)
    reason = models.TextField(help_text="What happened, in words.")
    question = models.TextField(help_text="The user's request at the heart of it.")
    priority = models.PositiveSmallIntegerField(choices=Priority.choices, default=Priority.NORMAL)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.LADDER)
    phase = models.CharField(max_length=20, choices=Phase.choices, default=Phase.QUICK_FIX)
    resolved_by_phase = models.CharField(max_length=20, choices=Phase.choices, blank=True)
    answer_message = models.ForeignKey(
        Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="The answer a phase posted in the conversation.",
    )  # fmt: skip
    pattern_used = models.ForeignKey(
        "LearnedPattern", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    pattern_success_counted = models.BooleanField(default=False)
    workflow_run = models.ForeignKey(
        "orchestration.WorkflowRun",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="escalations",
        help_text="The consensus run of the consultation phase.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    queued_at = models.DateTimeField(null=True, blank=True, help_text="When it reached the operators.")
    claimed_at = models.DateTimeField(null=True, blank=True)
    first_response_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolution_note = models.TextField(blank=True)
    first_response_due_at = models.DateTimeField(null=True, blank=True)
    resolution_due_at = models.DateTimeField(null=True, blank=True)
    email_status = models.CharField(max_length=20, choices=EmailStatus.choices, blank=True)
    email_attempts = models.PositiveSmallIntegerField(default=0)
    email_error = models.TextField(blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-priority", "created_at", "id"]
        constraints = [
            # The same trigger on the same message escalates once, however often it is seen.
            models.UniqueConstraint(fields=["trigger", "message"], name="unique_escalation_per_trigger"),
        ]
        indexes = [
            models.Index(fields=["account", "status", "-created_at"]),
            models.Index(fields=["status", "queued_at"]),
        ]

    def __str__(self) -> str:
        return f"Escalation #{self.pk} ({self.get_status_display()})"

    @property
    def in_queue(self) -> bool:
        return self.status in self.IN_QUEUE

    def sla_targets_set(self, policy: EscalationPolicy, now) -> None:
        self.first_response_due_at = now + timedelta(minutes=policy.first_response_sla_minutes)
        self.resolution_due_at = now + timedelta(minutes=policy.resolution_sla_minutes)


class PhaseRun(LeasedWork):
    """One phase of one escalation: what it did, how it ended and how long it took."""

    class Outcome(models.TextChoices):
        RUNNING = "running", "Running"
        RESOLVED = "resolved", "Resolved"
        FELL_THROUGH = "fell_through", "Fell through"
        SKIPPED = "skipped", "Skipped"
        FAILED = "failed", "Failed"
        QUEUED = "queued", "Handed to a person"

    escalation = models.ForeignKey(Escalation, on_delete=models.CASCADE, related_name="phase_runs")
    phase = models.CharField(max_length=20, choices=Phase.choices)
    outcome = models.CharField(max_length=20, choices=Outcome.choices, default=Outcome.RUNNING)
    detail = models.TextField(blank=True)
    answer = models.TextField(blank=True)
    score = models.FloatField(null=True, blank=True, help_text="Similarity, confidence or agreement.")
    # attempts and lease_expires_at (a running phase whose worker stops renewing it is
    # resumed) come from LeasedWork.
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["started_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["escalation", "phase"], name="unique_phase_run"),
        ]

    def __str__(self) -> str:
        return f"{self.get_phase_display()}: {self.get_outcome_display()}"


class AgentConsultation(models.Model):
    """One agent's proposal in the research or consultation phase, with its vote."""

    escalation = models.ForeignKey(Escalation, on_delete=models.CASCADE, related_name="consultations")
    phase = models.CharField(max_length=20, choices=Phase.choices)
    agent = models.ForeignKey(AgentInstance, null=True, on_delete=models.SET_NULL, related_name="+")
    proposal = models.TextField(blank=True)
    confidence = models.FloatField(null=True, blank=True)
    confidence_source = models.CharField(
        max_length=40, blank=True, help_text="Stated, or how it was estimated."
    )
    vote = models.CharField(max_length=200, blank=True, help_text="The answer it voted for (normalised).")
    agreed = models.BooleanField(null=True, help_text="Voted with the consensus answer.")
    status = models.CharField(max_length=20, blank=True)
    error = models.TextField(blank=True)
    task_run_id = models.PositiveBigIntegerField(null=True, blank=True, unique=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.agent} in {self.phase}"


class LearnedPattern(models.Model):
    """A problem and the fix a person gave for it, learned from a resolved escalation.
    Only approved patterns answer in Phase 1."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        APPROVED = "approved", "Approved"
        RETIRED = "retired", "Retired"

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="learned_patterns")
    problem = models.TextField()
    fix = models.TextField()
    embedding = models.JSONField(null=True, blank=True, editable=False)
    embedded_text = models.TextField(blank=True, editable=False, help_text="The problem text embedded.")
    source_escalation = models.OneToOneField(
        Escalation, null=True, blank=True, on_delete=models.SET_NULL, related_name="promoted_pattern"
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    times_used = models.PositiveIntegerField(default=0)
    success_count = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["account", "status"])]

    def __str__(self) -> str:
        return self.problem[:80]
