"""Running one task of a run: one attempt claimed under a lease (``durable``), its outcome
recorded, retries with doubling backoff; and in-process runs for the ``delegate`` tool."""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from decimal import Decimal
from functools import partial

from django.conf import settings
from django.db import OperationalError, connection, transaction
from django.utils import timezone

import durable
from agents.llm.gateway import LLMError
from orchestration.engine import (
    run_add_usage,
    run_aggregate,
    run_dispatch,
    run_lock,
    run_next_steps,
)
from orchestration.execution import AgentAnswer, AnswerStopped, agent_answer
from orchestration.models import FINAL_STATUSES, RunStatus, TaskRun, WorkflowRun
from orchestration.realtime import publish_run_changed

logger = logging.getLogger(__name__)

LEASE = durable.LeaseTerms("ORCHESTRATION_LEASE_SECONDS")


class TaskRetryable(Exception):
    """The attempt failed and the task has attempts left: Celery retries it with backoff."""


# --- Running one task ------------------------------------------------------------------------


def task_prompt(task: TaskRun) -> str:
    """What the task's agent is asked: the task, then (in a sequence) the previous step's
    result or failure, then the run's overall request for context."""
    parts = [p for p in (task.description.strip(), task.input.strip()) if p]
    run = task.run
    if run.mode == WorkflowRun.Mode.SEQUENTIAL and task.position > 0:
        previous = (
            run.tasks.filter(position__lt=task.position, status__in=[RunStatus.COMPLETED, RunStatus.FAILED])
            .order_by("-position")
            .first()
        )
        if previous is not None and previous.status == RunStatus.COMPLETED:
            parts.append(f"Result of the previous step ({previous.agent_slug}):\n{previous.result}")
        elif previous is not None:
            parts.append(f"The previous step ({previous.agent_slug}) failed: {previous.error}")
    if run.request.strip():
        parts.append(f"Overall request:\n{run.request.strip()}")
    return "\n\n".join(parts)


def _task_claim(task_id: int, *, force: bool = False) -> TaskRun | None:
    """Take the task for this attempt, or None when it is not ours to run: already final
    (a redelivered message), running under a live lease elsewhere, or its run is over.
    ``force`` takes a running task whatever its lease (an in-process run resumed by the
    only process that owns it)."""
    with transaction.atomic():
        # Lock the row and decide on what it holds now. (A conditional UPDATE that joins
        # the run would be a subquery, which PostgreSQL does not re-check against a row a
        # concurrent claim just changed: two claims of one task could both succeed.)
        task = durable.lock(TaskRun.objects.select_related("run", "agent"), task_id)
        if task is None:
            return None
        expired = durable.lease_state(task) == durable.LeaseState.EXPIRED
        takeable = task.status == RunStatus.PENDING or (
            task.status == RunStatus.IN_PROGRESS and (force or expired)
        )
        if task.run.status != RunStatus.IN_PROGRESS or not takeable:
            return None
        task.status, task.error = RunStatus.IN_PROGRESS, ""
        task.started_at = task.started_at or timezone.now()
        durable.claim(task, terms=LEASE, update_fields=["status", "error", "started_at"])
    publish_run_changed(account_id=task.run.account_id, run_id=task.run_id)
    return task


def task_execute(*, task_id: int, dispatch: bool = True, force: bool = False) -> None:
    """Run one attempt of a task and record its outcome; then advance the run (and, with
    ``dispatch``, send what starts next to the workers; an in-process run advances itself).

    Raises TaskRetryable when the attempt failed and attempts are left (the Celery task
    retries with backoff); a final failure is recorded on the task, never raised.
    """
    task = _task_claim(task_id, force=force)
    if task is None:
        return
    # Polled twice a second, so a cancelled task stops at its next chunk (Stop within a second).
    heartbeat = durable.Heartbeat(
        TaskRun.objects.filter(pk=task.pk, status=RunStatus.IN_PROGRESS),
        terms=LEASE,
        name=f"task-{task.pk}-heartbeat",
        poll_seconds=0.5,
    )
    heartbeat.start()
    try:
        answer = agent_answer(
            agent=task.agent,
            prompt=task_prompt(task),
            attempt=task.attempts,
            timeout_seconds=task.timeout_seconds,
            should_stop=lambda: heartbeat.lost,
        )
    except AnswerStopped:
        return  # cancelled while it ran: the cancellation already recorded it
    except LLMError as error:  # includes timeouts
        _task_attempt_failed(task, str(error), dispatch=dispatch)
        return
    except OperationalError:
        # The database hiccuped: hand the task back so the Celery retry can claim it.
        owned = TaskRun.objects.filter(pk=task.pk, status=RunStatus.IN_PROGRESS)
        durable.release(owned, status=RunStatus.PENDING)
        raise
    except Exception as error:
        logger.exception("task %s failed unexpectedly", task.pk)
        _task_attempt_failed(
            task, f"internal error: {type(error).__name__}: {error}", retry=False, dispatch=dispatch
        )
        return
    finally:
        heartbeat.stop()
    _task_completed(task, answer, dispatch=dispatch)


def _advance_after_task(run: WorkflowRun, dispatch: bool) -> None:
    if dispatch:
        advance = run_next_steps(run)
        transaction.on_commit(partial(run_dispatch, advance, run.pk))
    transaction.on_commit(partial(publish_run_changed, account_id=run.account_id, run_id=run.pk))


def _task_completed(task: TaskRun, answer: AgentAnswer, *, dispatch: bool) -> None:
    with transaction.atomic():
        run = run_lock(task.run_id)
        done = durable.release(
            TaskRun.objects.filter(pk=task.pk, status=RunStatus.IN_PROGRESS),
            status=RunStatus.COMPLETED,
            result=answer.text,
            error="",
            finished_at=timezone.now(),
            model=answer.model,
            prompt_tokens=answer.prompt_tokens,
            completion_tokens=answer.completion_tokens,
            cost_usd=Decimal(str(answer.cost_usd)),
            latency_ms=answer.latency_ms,
        )
        if done:
            run_add_usage(run, answer)
        _advance_after_task(run, dispatch)


def _task_attempt_failed(task: TaskRun, error: str, *, retry: bool = True, dispatch: bool = True) -> None:
    with transaction.atomic():
        run = run_lock(task.run_id)
        current = TaskRun.objects.filter(pk=task.pk, status=RunStatus.IN_PROGRESS)
        if retry and task.attempts < task.max_attempts:
            delay = settings.ORCHESTRATION_RETRY_BACKOFF_SECONDS * 2 ** (task.attempts - 1)
            # Enqueued "later", so crash recovery does not re-send it before the retry is due.
            durable.release(
                current,
                status=RunStatus.PENDING,
                error=f"attempt {task.attempts} failed: {error}",
                enqueued_at=timezone.now() + timedelta(seconds=delay),
            )
            transaction.on_commit(partial(publish_run_changed, account_id=run.account_id, run_id=run.pk))
            retry_now = True
        else:
            durable.release(current, status=RunStatus.FAILED, error=error, finished_at=timezone.now())
            _advance_after_task(run, dispatch)
            retry_now = False
    if retry_now:
        raise TaskRetryable(error)


def retry_delay(task_id: int) -> float:
    """The backoff before the task's next attempt: doubles with each attempt."""
    attempts = TaskRun.objects.filter(pk=task_id).values_list("attempts", flat=True).first() or 1
    return settings.ORCHESTRATION_RETRY_BACKOFF_SECONDS * 2 ** (attempts - 1)


# --- In-process runs (the delegate tool) ---------------------------------------------------


def run_execute_inline(*, run_id: int) -> WorkflowRun:
    """Run a parallel batch in this process (threads), recording it like any run.

    For the ``delegate`` tool, which runs inside a conversation turn on a worker thread:
    waiting there on other Celery tasks could starve the pool (every thread a turn waiting
    on queued sub-tasks), while pausing the turn would need a new resume path in the agent
    runtime. Running the sub-tasks here keeps the turn's own guarantees: a turn resumed
    after a crash calls the tool again, which finds this run by its idempotency key and
    runs only the tasks that are not final.
    """
    from concurrent.futures import ThreadPoolExecutor

    while True:
        with transaction.atomic():
            advance = run_next_steps(run_lock(run_id))
        if advance.aggregate:
            run_aggregate(run_id=run_id)
        run = WorkflowRun.objects.get(pk=run_id)
        if run.is_final:
            return run
        open_ids = list(run.tasks.exclude(status__in=FINAL_STATUSES).values_list("pk", flat=True))
        if not open_ids and not advance.aggregate:
            # Nothing left to run here, yet not final: an aggregation claimed by a process
            # that died. Take it over rather than wait.
            WorkflowRun.objects.filter(pk=run_id).update(finishing_at=None)
            continue
        with ThreadPoolExecutor(max_workers=max(1, len(open_ids))) as pool:
            list(pool.map(_execute_inline, open_ids))


def _execute_inline(task_id: int) -> None:
    try:
        while True:
            try:
                task_execute(task_id=task_id, dispatch=False, force=True)
                return
            except TaskRetryable:
                time.sleep(retry_delay(task_id))
    finally:
        connection.close()  # a thread of our own: its connection would otherwise leak
