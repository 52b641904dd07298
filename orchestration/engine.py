"""The engine of a run: the join that decides what starts next, finishing a run with its
result, and the aggregation that needs a model.

How the modes map onto Celery. Each TaskRun is one ``execute_task`` Celery task
(``orchestration.runner``). The join between tasks (a chain's next link, a chord's
callback) is counted in the database rather than with Celery's canvas primitives: when a
task reaches a final status, ``run_advance`` locks the run, looks at every task's status and
decides what starts next (sequential: the next link, strict or not) or whether the run is
done (parallel, consensus: the group is all final; hierarchical: the chord callback that
aggregates). Why not ``chain``/``chord``: a chord needs a result backend (the project runs
with ``CELERY_TASK_IGNORE_RESULT`` and none), a chain cannot pass a failure on (non-strict
mode) or be cancelled link by link, and both keep their state in Redis where a killed worker
loses it. Counting in the database keeps one source of truth that the UI reads, that
cancellation edits, and that crash recovery (``orchestration.recovery``) replays: only tasks
that are not final run again. Parallel batches are still sent as one Celery ``group``.

Every write that other processes must see is followed, on commit, by a ``run.changed``
event to the account's and the run's channel groups.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

import durable
from agents.llm.gateway import LLMError
from agents.models import AgentInstance
from orchestration import planner, voting
from orchestration.execution import AgentAnswer, agent_answer
from orchestration.models import FINAL_STATUSES, RunStatus, TaskRun, WorkflowRun
from orchestration.realtime import publish_run_changed
from orchestration.signals import run_finished

# --- Advancing a run: the join ----------------------------------------------------------------


@dataclass
class Advance:
    """What the run needs next: tasks to start, or the aggregation."""

    start: list[TaskRun] = field(default_factory=list)
    aggregate: bool = False


def run_lock(run_id: int) -> WorkflowRun:
    return WorkflowRun.objects.select_for_update().get(pk=run_id)


def run_next_steps(run: WorkflowRun) -> Advance:
    """Inside a transaction holding the run's lock: mark what starts next as enqueued,
    and finish the run when nothing is left (except a merge, which needs a model)."""
    if run.is_final:
        return Advance()
    now = timezone.now()
    if run.status == RunStatus.PENDING:
        run.status, run.started_at = RunStatus.IN_PROGRESS, now
        run.save(update_fields=["status", "started_at"])
    tasks = list(run.tasks.select_related("agent").order_by("position", "id"))
    if run.mode == WorkflowRun.Mode.SEQUENTIAL:
        start: list[TaskRun] = []
        for index, task in enumerate(tasks):
            if task.status == RunStatus.COMPLETED:
                continue
            if task.status in (RunStatus.FAILED, RunStatus.CANCELLED):
                if run.strict:
                    tasks_cancel(tasks[index + 1 :], reason="an earlier step failed (strict mode)")
                    run_finish(run, tasks, RunStatus.FAILED, error=f"Step {index + 1} failed: {task.error}")
                    return Advance()
                continue  # non-strict: the failure is passed on to the next step
            if task.status == RunStatus.PENDING and task.enqueued_at is None:
                start = [task]
            break
        else:
            run_finish_with_result(run, tasks)
            return Advance()
    else:
        start = [t for t in tasks if t.status == RunStatus.PENDING and t.enqueued_at is None]
        if all(t.is_final for t in tasks):
            if _needs_model_to_finish(run):
                if run.finishing_at is None and any(t.status == RunStatus.COMPLETED for t in tasks):
                    WorkflowRun.objects.filter(pk=run.pk).update(finishing_at=now)
                    return Advance(aggregate=True)
                if run.finishing_at is not None:
                    return Advance()  # the aggregation is under way elsewhere
            run_finish_with_result(run, tasks)
            return Advance()
    for task in start:
        task.enqueued_at, task.celery_task_id = now, uuid.uuid4().hex
        TaskRun.objects.filter(pk=task.pk).update(enqueued_at=now, celery_task_id=task.celery_task_id)
    return Advance(start=start)


def _needs_model_to_finish(run: WorkflowRun) -> bool:
    """A merge, or a consensus with a judge: the aggregation is a model call, made in a task
    of its own rather than under the run's lock."""
    merge = run.mode == WorkflowRun.Mode.HIERARCHICAL and run.strategy == WorkflowRun.Strategy.MERGE
    judged = run.mode == WorkflowRun.Mode.CONSENSUS and run.aggregator_id is not None
    return merge or judged


def run_dispatch(advance: Advance, run_id: int) -> None:
    from celery import group

    from orchestration.tasks import aggregate_run, execute_task

    signatures = [execute_task.si(task.pk).set(task_id=task.celery_task_id) for task in advance.start]
    if len(signatures) == 1:
        signatures[0].apply_async()
    elif signatures:
        group(signatures).apply_async()
    if advance.aggregate:
        aggregate_run.delay(run_id)


def run_advance(*, run_id: int) -> None:
    """Start what the run needs next on the workers (the join after each task)."""
    with transaction.atomic():
        run = run_lock(run_id)
        advance = run_next_steps(run)
        transaction.on_commit(partial(run_dispatch, advance, run_id))
        transaction.on_commit(partial(publish_run_changed, account_id=run.account_id, run_id=run_id))


def tasks_cancel(tasks: list[TaskRun], *, reason: str) -> list[str]:
    """Mark the tasks that are not final as cancelled; the Celery ids to revoke."""
    ids = [t.pk for t in tasks if not t.is_final]
    durable.release(
        TaskRun.objects.filter(pk__in=ids).exclude(status__in=FINAL_STATUSES),
        status=RunStatus.CANCELLED,
        error=reason,
        finished_at=timezone.now(),
    )
    return [t.celery_task_id for t in tasks if t.pk in ids and t.celery_task_id]


def run_finish(
    run: WorkflowRun, tasks: list[TaskRun], status: str, *, result: dict | None = None, error: str = ""
) -> bool:
    """Give the run its final status, once: the conditional update is the guard, and the
    signal and the event go out after the commit."""
    changed = (
        WorkflowRun.objects.filter(pk=run.pk)
        .exclude(status__in=FINAL_STATUSES)
        .update(status=status, result=result, error=error, finished_at=timezone.now())
    )
    if changed:
        run_id = run.pk
        transaction.on_commit(partial(_announce_finished, run_id))
    return bool(changed)


def _announce_finished(run_id: int) -> None:
    run = WorkflowRun.objects.get(pk=run_id)
    publish_run_changed(account_id=run.account_id, run_id=run.pk)
    run_finished.send(sender=WorkflowRun, run=run)


def task_rows(tasks: list[TaskRun]) -> list[dict]:
    return [
        {"task_id": t.pk, "agent": t.agent_slug, "status": t.status, "result": t.result, "error": t.error}
        for t in tasks
    ]


def run_finish_with_result(
    run: WorkflowRun,
    tasks: list[TaskRun],
    merged: AgentAnswer | None = None,
    judged: tuple[list[str] | None, str] | None = None,
) -> None:
    completed = [t for t in tasks if t.status == RunStatus.COMPLETED]
    failed = sum(1 for t in tasks if t.status == RunStatus.FAILED)
    status = RunStatus.COMPLETED if completed else RunStatus.FAILED
    error = "" if completed else "No task completed."
    if run.mode == WorkflowRun.Mode.CONSENSUS or (
        run.mode == WorkflowRun.Mode.HIERARCHICAL and run.strategy == WorkflowRun.Strategy.VOTE
    ):
        ballots = [
            voting.Ballot(t.pk, t.agent_slug, t.result if t.status == RunStatus.COMPLETED else None)
            for t in tasks
        ]
        threshold = run.min_agreement if run.mode == WorkflowRun.Mode.CONSENSUS else 0.0
        forms, judge_reply = judged if judged is not None else (None, "")
        if forms is not None:  # the judge grouped the answers that were given
            answers = iter(forms)
            forms = [next(answers) if b.answer is not None else "" for b in ballots]
        result = voting.tally(ballots, min_agreement=threshold, forms=forms)
        if judged is not None:
            result["judge"] = {"agent": run.aggregator.slug, "reply": judge_reply, "used": forms is not None}
        if run.mode == WorkflowRun.Mode.HIERARCHICAL:
            result["strategy"] = run.strategy
    elif run.mode == WorkflowRun.Mode.HIERARCHICAL:
        if merged is not None:
            answer = merged.text
        else:  # concatenation, in task order
            answer = "\n\n".join(f"## {t.agent_label}\n\n{t.result}" for t in completed)
        result = {"strategy": run.strategy, "answer": answer, "tasks": task_rows(tasks)}
    elif run.mode == WorkflowRun.Mode.SEQUENTIAL:
        last = completed[-1].result if completed else ""
        result = {"answer": last, "tasks": task_rows(tasks)}
    else:
        result = {"tasks": task_rows(tasks)}
    result["failed_tasks"] = failed
    run_finish(run, tasks, status, result=result, error=error)


def run_add_usage(run: WorkflowRun, answer: AgentAnswer) -> None:
    WorkflowRun.objects.filter(pk=run.pk).update(
        tokens=F("tokens") + answer.tokens, cost_usd=F("cost_usd") + Decimal(str(answer.cost_usd))
    )


# --- Aggregation (the chord's callback, for merges that need a model) ------------------------


def run_aggregate(*, run_id: int) -> None:
    """The aggregation that needs a model: merge a hierarchical run's results with its
    aggregator agent, or have a consensus run's judge group the answers; then finish."""
    run = WorkflowRun.objects.select_related("aggregator").get(pk=run_id)
    if run.is_final:
        return
    tasks = list(run.tasks.select_related("agent").order_by("position", "id"))
    completed = [t for t in tasks if t.status == RunStatus.COMPLETED]
    request = f"Overall request:\n{run.request.strip()}" if run.request.strip() else ""
    if run.mode == WorkflowRun.Mode.CONSENSUS:
        question = "\n\n".join(
            p for p in (completed[0].description, completed[0].input, request) if p.strip()
        )
        prompt = voting.judge_prompt(question, [t.result for t in completed])
        purpose = "judging"
    else:
        prompt = "\n\n".join(
            [
                "Merge the results of these sub-tasks into one answer, keeping what each contributes.",
                *(f"## {t.agent_label}\n{t.result}" for t in completed),
                request,
            ]
        ).strip()
        purpose = "merge"
    try:
        if run.aggregator is None or run.aggregator.status != AgentInstance.Status.ACTIVE:
            raise LLMError(f"{planner.not_available(run.aggregator.slug if run.aggregator else '?')}")
        answer = agent_answer(
            agent=run.aggregator, prompt=prompt, timeout_seconds=settings.ORCHESTRATION_TASK_TIMEOUT_SECONDS
        )
    except LLMError as error:
        with transaction.atomic():
            locked = run_lock(run_id)
            if run.mode == WorkflowRun.Mode.CONSENSUS:
                # Without its judge the vote still stands on normalised answers.
                run_finish_with_result(locked, tasks, judged=(None, f"{purpose} failed: {error}"))
            else:
                run_finish(locked, tasks, RunStatus.FAILED, result={"tasks": task_rows(tasks)},
                        error=f"{purpose} failed: {error}")  # fmt: skip
        return
    with transaction.atomic():
        locked = run_lock(run_id)
        run_add_usage(locked, answer)
        if run.mode == WorkflowRun.Mode.CONSENSUS:
            forms = voting.judged_forms(answer.text, [t.result for t in completed])
            run_finish_with_result(locked, tasks, judged=(forms, answer.text))
        else:
            run_finish_with_result(locked, tasks, merged=answer)
