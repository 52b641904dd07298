"""Evaluation datasets (named, versioned sets of labelled cases per account) and evaluation runs
(a dataset executed through the turn engine in hidden conversations, one result per case).

Imported by ``analytics.models`` so Django finds the models in the analytics app."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from accounts.models import Account
from conversations.models import Conversation
from durable.models import LeasedWork


class EvaluationDataset(models.Model):
    """A named set of labelled cases. ``version`` goes up with every change to its cases, and a run
    records the version it executed, so two runs of different versions are told apart."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="evaluation_datasets")
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["account", "name"], name="unique_evaluation_dataset_name"),
        ]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"


class EvaluationCase(models.Model):
    """One labelled case: the user's message (or a short script of messages) and what must hold of
    the answer to the last one. Every expectation is optional; a case with none only needs a reply."""

    dataset = models.ForeignKey(EvaluationDataset, on_delete=models.CASCADE, related_name="cases")
    key = models.CharField(max_length=100, help_text="Names the case across versions and runs.")
    position = models.PositiveIntegerField(default=0)
    turns = models.JSONField(help_text="The user's messages, in order (one for a single question).")
    expected_agent = models.CharField(max_length=100, blank=True, help_text="Slug of the agent to reach.")
    out_of_scope = models.BooleanField(default=False, help_text="No agent should take it.")
    facts = models.JSONField(default=list, blank=True, help_text="Phrases the answer must contain.")
    source = models.CharField(max_length=100, blank=True, help_text="Slug of an article the answer cites.")
    tool = models.CharField(max_length=60, blank=True, help_text="A tool the turn must call.")
    approval_expected = models.BooleanField(
        null=True, blank=True, help_text="Whether that call must go through the approval gate."
    )
    must_not_act = models.BooleanField(default=False, help_text="No gated (side-effect) tool may be called.")
    notes = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["dataset", "key"], name="unique_evaluation_case_key"),
        ]

    def __str__(self) -> str:
        return self.key


class EvaluationRun(LeasedWork):
    """A dataset executed case by case on the workers. Durable work: a batch of cases runs under a
    lease; a killed worker's run is resumed from the first case without a finished result."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        COMPLETE = "complete", "Complete"
        FAILED = "failed", "Failed"

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="evaluation_runs")
    dataset = models.ForeignKey(EvaluationDataset, on_delete=models.CASCADE, related_name="runs")
    dataset_version = models.PositiveIntegerField()
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED)
    error = models.TextField(blank=True)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    passed = models.PositiveIntegerField(default=0)
    figures = models.JSONField(default=dict, blank=True, help_text="Computed when the run completes.")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["account", "status", "-created_at"]),
            models.Index(fields=["status", "lease_expires_at"]),
        ]

    def __str__(self) -> str:
        return f"Evaluation run {self.pk} of {self.dataset_id} ({self.status})"


class EvaluationResult(models.Model):
    """One case's outcome in a run. ``expectations`` is the case as it was run (the dataset may
    change later); ``checks`` lists each expectation with what was found."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        PASSED = "passed", "Passed"
        FAILED = "failed", "Failed"

    run = models.ForeignKey(EvaluationRun, on_delete=models.CASCADE, related_name="results")
    case_key = models.CharField(max_length=100)
    position = models.PositiveIntegerField(default=0)
    expectations = models.JSONField(default=dict)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    conversation = models.ForeignKey(
        Conversation, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    checks = models.JSONField(default=list, blank=True)
    answer = models.TextField(blank=True)
    agent = models.CharField(max_length=100, blank=True, help_text="The agent that answered the last turn.")
    out_of_scope = models.BooleanField(default=False, help_text="The router answered it as out of scope.")
    sources = models.JSONField(default=list, blank=True, help_text="Article slugs the answer cites.")
    tool_calls = models.JSONField(default=list, blank=True)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    prompt_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)
    cost_usd = models.DecimalField(max_digits=12, decimal_places=6, default=0)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["run", "case_key"], name="unique_evaluation_result_case"),
        ]

    def __str__(self) -> str:
        return f"{self.case_key}: {self.status}"
