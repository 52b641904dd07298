"""Reads of evaluation datasets and runs, each scoped to one account."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import QuerySet

from accounts.models import Account
from analytics.evaluation.models import EvaluationDataset, EvaluationResult, EvaluationRun


@dataclass(frozen=True)
class EvaluationSummary:
    """The figures of one completed evaluation run, for gates, the readiness report and pages.
    Rates are shares (0.95 = 95%); a rate is None when no case measured it."""

    run_id: int
    dataset: str
    dataset_version: int
    finished_at: object  # datetime
    total: int
    passed: int
    pass_rate: float
    routing_accuracy: float | None
    routing_total: int
    out_of_scope_recall: float | None
    false_out_of_scope_rate: float | None
    source_accuracy: float | None
    tool_correctness: float | None
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    tokens: int
    cost_usd: float
    per_agent: list[dict] = field(default_factory=list)  # [{agent, total, passed, pass_rate}]


def evaluation_datasets_for_account(*, account: Account) -> QuerySet[EvaluationDataset]:
    return EvaluationDataset.objects.filter(account=account).order_by("name")


def evaluation_dataset_get(*, account: Account, dataset_id: int) -> EvaluationDataset:
    """The account's dataset (DoesNotExist for another account's: a 404 to the caller)."""
    return EvaluationDataset.objects.get(account=account, pk=dataset_id)


def evaluation_runs_for_account(*, account: Account, dataset: EvaluationDataset | None = None):
    runs = EvaluationRun.objects.filter(account=account).select_related("dataset", "started_by")
    if dataset is not None:
        runs = runs.filter(dataset=dataset)
    return runs.order_by("-created_at", "-id")


def evaluation_run_get(*, account: Account, run_id: int) -> EvaluationRun:
    return EvaluationRun.objects.select_related("dataset", "started_by").get(account=account, pk=run_id)


def evaluation_result_get(*, account: Account, run_id: int, result_id: int) -> EvaluationResult:
    return EvaluationResult.objects.select_related("run", "conversation").get(
        run__account=account, run_id=run_id, pk=result_id
    )


def evaluation_summary(run: EvaluationRun) -> EvaluationSummary:
    figures = run.figures or {}
    return EvaluationSummary(
        run_id=run.pk,
        dataset=run.dataset.name,
        dataset_version=run.dataset_version,
        finished_at=run.finished_at,
        total=figures.get("total", run.total),
        passed=figures.get("passed", run.passed),
        pass_rate=figures.get("pass_rate", 0.0),
        routing_accuracy=figures.get("routing_accuracy"),
        routing_total=figures.get("routing_total", 0),
        out_of_scope_recall=figures.get("out_of_scope_recall"),
        false_out_of_scope_rate=figures.get("false_out_of_scope_rate"),
        source_accuracy=figures.get("source_accuracy"),
        tool_correctness=figures.get("tool_correctness"),
        latency_p50_ms=figures.get("latency_p50_ms"),
        latency_p95_ms=figures.get("latency_p95_ms"),
        tokens=figures.get("tokens", 0),
        cost_usd=figures.get("cost_usd", 0.0),
        per_agent=list(figures.get("per_agent", [])),
    )


def evaluation_latest(
    *, account: Account, dataset: EvaluationDataset | None = None
) -> EvaluationSummary | None:
    """The figures of the account's latest completed evaluation run (of ``dataset`` when given),
    or None when no run has completed. What the rollout gate and the readiness report read."""
    run = (
        evaluation_runs_for_account(account=account, dataset=dataset)
        .filter(status=EvaluationRun.Status.COMPLETE)
        .order_by("-finished_at", "-id")
        .first()
    )
    return evaluation_summary(run) if run is not None else None


def evaluation_run_view(run: EvaluationRun) -> dict:
    """What the run page and its socket render: progress, figures and the results so far."""
    return {"run": run, "results": run.results.all(), "summary": evaluation_summary(run)}
