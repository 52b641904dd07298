"""Reads for runs: lists, one run, the socket's authorisation, and statistics."""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Count, Prefetch, Q, QuerySet
from django.shortcuts import get_object_or_404

from accounts.models import Account, Membership
from agents.models import AgentInstance
from orchestration.models import FINAL_STATUSES, AgentCapability, RunStatus, TaskRun, WorkflowRun

STATISTICS_WINDOW = 5000  # the latest runs the statistics are computed over


def _account_runs(*, account: Account) -> QuerySet[WorkflowRun]:
    """The account's runs, newest first, with task counts for progress bars."""
    return (
        WorkflowRun.objects.filter(account=account)
        .select_related("started_by", "conversation")
        .annotate(
            tasks_total=Count("tasks"),
            tasks_done=Count("tasks", filter=Q(tasks__status__in=FINAL_STATUSES)),
            tasks_completed=Count("tasks", filter=Q(tasks__status=RunStatus.COMPLETED)),
            tasks_failed=Count("tasks", filter=Q(tasks__status=RunStatus.FAILED)),
            tasks_cancelled=Count("tasks", filter=Q(tasks__status=RunStatus.CANCELLED)),
        )
        .order_by("-created_at", "-id")
    )


def _with_tasks(queryset: QuerySet[WorkflowRun]) -> QuerySet[WorkflowRun]:
    return queryset.select_related("aggregator", "account").prefetch_related(
        Prefetch("tasks", queryset=TaskRun.objects.select_related("agent").order_by("position", "id"))
    )


def _visible(membership: Membership) -> Q:
    """Which of the account's runs the member may see and cancel (the one place the rule lives).

    Operators and admins see every run of the account. A member sees the runs they started and
    the delegate runs of their own conversations: a run carries the question it was started
    with, so another member's run is none of theirs. Runs the system starts for an escalation
    (its consultation) have no member owner, although they are linked to the asker's
    conversation, and so are seen by operators and admins only.
    """
    if membership.is_operator:
        return Q(account_id=membership.account_id)
    return Q(account_id=membership.account_id) & (
        Q(started_by_id=membership.user_id)
        | Q(mode=WorkflowRun.Mode.DELEGATE, conversation__user_id=membership.user_id)
    )


def runs_visible_to(*, membership: Membership) -> QuerySet[WorkflowRun]:
    """The runs the member may see and cancel, newest first, with task counts (see ``_visible``)."""
    return _account_runs(account=membership.account).filter(_visible(membership))


def run_get(*, membership: Membership, pk: int) -> WorkflowRun:
    """The run with its tasks, or 404 when the member may not see it (another account's, another
    member's): the same answer as for a run that does not exist."""
    return get_object_or_404(_with_tasks(runs_visible_to(membership=membership)), pk=pk)


def run_find(*, membership: Membership, pk: int) -> WorkflowRun | None:
    """``run_get`` for the sockets: None where the page would 404."""
    return _with_tasks(runs_visible_to(membership=membership)).filter(pk=pk).first()


def membership_for_socket(
    *, user: AbstractBaseUser | AnonymousUser, account_id: int | None
) -> Membership | None:
    from accounts.selectors import membership_current

    if not user.is_authenticated:
        return None
    return membership_current(user=user, account_id=account_id)


def run_progress(run: WorkflowRun) -> tuple[int, int]:
    """(tasks final, tasks in all), from the annotation when the run has it."""
    if hasattr(run, "tasks_total"):
        return run.tasks_done, run.tasks_total
    tasks = list(run.tasks.all())
    return sum(1 for t in tasks if t.is_final), len(tasks)


def run_progress_parts(run: WorkflowRun) -> dict[str, int]:
    """The progress bar's segments: tasks completed, failed and cancelled, of all. A cancelled
    task is final but was never done, so it is drawn as cancelled, not as progress."""
    if hasattr(run, "tasks_completed"):
        completed, failed, cancelled = run.tasks_completed, run.tasks_failed, run.tasks_cancelled
        total = run.tasks_total
    else:
        statuses = [t.status for t in run.tasks.all()]
        completed, failed = statuses.count(RunStatus.COMPLETED), statuses.count(RunStatus.FAILED)
        cancelled, total = statuses.count(RunStatus.CANCELLED), len(statuses)
    return {"completed": completed, "failed": failed, "cancelled": cancelled, "total": total}


def agents_for_run_form(*, account: Account) -> QuerySet[AgentInstance]:
    return AgentInstance.objects.filter(account=account, status=AgentInstance.Status.ACTIVE).order_by("name")


def capabilities_for_account(*, account: Account) -> list[str]:
    return sorted(
        set(
            AgentCapability.objects.filter(
                agent__account=account, agent__status=AgentInstance.Status.ACTIVE
            ).values_list("name", flat=True)
        )
    )


def _percentile(values: list[float], share: float) -> float | None:
    """Nearest-rank percentile; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def estimate_error(*, estimated: float, actual: float) -> float | None:
    """The absolute percentage error of a run's time estimate, as a share of what it took;
    None when the run had no estimate or took no measurable time."""
    if not estimated or actual <= 0:
        return None
    return abs(estimated - actual) / actual


def _success_rate(completed: int, failed: int) -> float | None:
    # Cancelled tasks were stopped by a person, not failures of the agent.
    return round(completed / (completed + failed), 4) if completed + failed else None


def run_statistics(*, membership: Membership) -> dict:
    """Runs and tasks by status, success rate overall and per agent, mean and p95
    duration, and cost, over the latest runs the member may see (a member's own; the
    account's for operators and admins)."""
    run_ids = list(
        WorkflowRun.objects.filter(_visible(membership))
        .order_by("-created_at")
        .values_list("pk", flat=True)[:STATISTICS_WINDOW]
    )
    runs = list(
        WorkflowRun.objects.filter(pk__in=run_ids).values(
            "status", "mode", "started_at", "finished_at", "cost_usd", "tokens", "estimated_seconds"
        )
    )
    tasks = list(
        TaskRun.objects.filter(run_id__in=run_ids).values(
            "status", "agent_slug", "started_at", "finished_at", "cost_usd"
        )
    )
    runs_by_status = {status: 0 for status in RunStatus.values}
    by_mode: dict[str, int] = defaultdict(int)
    durations: list[float] = []
    estimate_errors: list[float] = []
    for run in runs:
        runs_by_status[run["status"]] += 1
        by_mode[run["mode"]] += 1
        if run["started_at"] and run["finished_at"] and run["status"] != RunStatus.CANCELLED:
            seconds = (run["finished_at"] - run["started_at"]).total_seconds()
            durations.append(seconds)
            error = estimate_error(estimated=run["estimated_seconds"], actual=seconds)
            if error is not None:
                estimate_errors.append(error)
    tasks_by_status = {status: 0 for status in RunStatus.values}
    per_agent: dict[str, dict] = defaultdict(
        lambda: {"completed": 0, "failed": 0, "cancelled": 0, "durations": [], "cost": Decimal("0")}
    )
    task_durations: list[float] = []
    for task in tasks:
        tasks_by_status[task["status"]] += 1
        row = per_agent[task["agent_slug"] or "?"]
        row["cost"] += task["cost_usd"]
        if task["status"] in ("completed", "failed", "cancelled"):
            row[task["status"]] += 1
        if task["status"] == RunStatus.COMPLETED and task["started_at"] and task["finished_at"]:
            seconds = (task["finished_at"] - task["started_at"]).total_seconds()
            row["durations"].append(seconds)
            task_durations.append(seconds)
    cost = sum((r["cost_usd"] for r in runs), Decimal("0"))
    return {
        "runs": len(runs),
        "runs_by_status": runs_by_status,
        "runs_by_mode": dict(by_mode),
        "tasks": len(tasks),
        "tasks_by_status": tasks_by_status,
        "run_success_rate": _success_rate(runs_by_status["completed"], runs_by_status["failed"]),
        "task_success_rate": _success_rate(tasks_by_status["completed"], tasks_by_status["failed"]),
        "run_duration_mean_seconds": round(sum(durations) / len(durations), 3) if durations else None,
        "run_duration_p95_seconds": _percentile(durations, 0.95),
        "task_duration_mean_seconds": (
            round(sum(task_durations) / len(task_durations), 3) if task_durations else None
        ),
        "task_duration_p95_seconds": _percentile(task_durations, 0.95),
        "cost_usd": float(cost),
        "tokens": sum(r["tokens"] for r in runs),
        # How far the estimates shown before starting were from what the runs took: the median
        # of |estimated - actual| / actual over finished runs (0.25 is "typically 25% off").
        "estimate_error_median": round(statistics.median(estimate_errors), 4) if estimate_errors else None,
        "estimate_error_runs": len(estimate_errors),
        "per_agent": [
            {
                "agent": slug,
                "completed": row["completed"],
                "failed": row["failed"],
                "cancelled": row["cancelled"],
                "success_rate": _success_rate(row["completed"], row["failed"]),
                "mean_seconds": (
                    round(sum(row["durations"]) / len(row["durations"]), 3) if row["durations"] else None
                ),
                "p95_seconds": _percentile(row["durations"], 0.95),
                "cost_usd": float(row["cost"]),
            }
            for slug, row in sorted(per_agent.items())
        ],
    }
