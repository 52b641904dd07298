"""Writes for runs of agents: start, run one task, advance the run, aggregate, cancel, recover.

How the modes map onto Celery. Each TaskRun is one ``execute_task`` Celery task. The join
between tasks (a chain's next link, a chord's callback) is counted in the database rather
than with Celery's canvas primitives: when a task reaches a final status, ``run_advance``
locks the run, looks at every task's status and decides what starts next (sequential: the
next link, strict or not) or whether the run is done (parallel, consensus: the group is
all final; hierarchical: the chord callback that aggregates). Why not ``chain``/``chord``:
a chord needs a result backend (the project runs with ``CELERY_TASK_IGNORE_RESULT`` and
none), a chain cannot pass a failure on (non-strict mode) or be cancelled link by link,
and both keep their state in Redis where a killed worker loses it. Counting in the
database keeps one source of truth that the UI reads, that cancellation edits, and that
crash recovery (``runs_recover_orphaned``) replays: only tasks that are not final run again.
Parallel batches are still sent as one Celery ``group``.

Every write that other processes must see is followed, on commit, by a ``run.changed``
event to the account's and the run's channel groups.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from functools import partial
from numbers import Real

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import OperationalError, close_old_connections, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts.models import Account
from agents.llm.gateway import LLMError
from agents.models import AgentInstance
from agents.selectors import agent_default_for_account
from orchestration import planner, voting
from orchestration.execution import AgentAnswer, AnswerStopped, agent_answer
from orchestration.models import FINAL_STATUSES, RunStatus, TaskRun, WorkflowRun
from orchestration.realtime import publish_run_changed
from orchestration.signals import run_finished

logger = logging.getLogger(__name__)

STARTABLE_MODES = (
    WorkflowRun.Mode.SEQUENTIAL,
    WorkflowRun.Mode.PARALLEL,
    WorkflowRun.Mode.HIERARCHICAL,
    WorkflowRun.Mode.CONSENSUS,
)
TEXT_LIMIT = 20_000
TASK_KEYS = {"agent", "capability", "description", "input", "timeout_seconds", "max_attempts"}


# How long a saved run may wait for its start to be sent before recovery sends it.
UNSTARTED_GRACE = timedelta(seconds=10)


class TaskRetryable(Exception):
    """The attempt failed and the task has attempts left: Celery retries it with backoff."""


# --- Starting a run -------------------------------------------------------------------------


@dataclass
class _TaskSpec:
    agent_slug: str
    capability: str
    description: str
    input: str
    timeout_seconds: float
    max_attempts: int


def _clean_tasks(tasks: object, mode: str, errors: dict[str, list[str]]) -> list[_TaskSpec]:
    if not isinstance(tasks, list | tuple) or not tasks:
        errors.setdefault("tasks", []).append("Give at least one task.")
        return []
    limit = settings.ORCHESTRATION_MAX_TASKS
    if len(tasks) > limit:
        errors.setdefault("tasks", []).append(
            f"A run can have at most {limit} tasks; this one has {len(tasks)}."
        )
        return []
    if mode == WorkflowRun.Mode.CONSENSUS and len(tasks) < 2:
        errors.setdefault("tasks", []).append("A consensus needs at least two agents answering.")
    specs = []
    for index, task in enumerate(tasks):
        where = f"tasks.{index}"
        if not isinstance(task, dict):
            errors.setdefault(where, []).append("Each task must be an object.")
            continue
        unknown = sorted(set(task) - TASK_KEYS)
        if unknown:
            errors.setdefault(where, []).append(f"Unknown keys: {', '.join(unknown)}.")
        values = {}
        for key in ("agent", "capability", "description", "input"):
            value = task.get(key)
            if value is None:
                value = ""
            if not isinstance(value, str):
                errors.setdefault(f"{where}.{key}", []).append("Must be text.")
                value = ""
            elif len(value) > TEXT_LIMIT:
                errors.setdefault(f"{where}.{key}", []).append(f"At most {TEXT_LIMIT:,} characters.")
            values[key] = value.strip() if key in {"agent", "capability"} else value
        if not values["agent"] and not values["capability"]:
            errors.setdefault(f"{where}.agent", []).append("Name an agent or a capability.")
        if not (values["description"].strip() or values["input"].strip()):
            errors.setdefault(f"{where}.input", []).append(
                "Say what the task is (a description or an input)."
            )
        timeout = task.get("timeout_seconds", settings.ORCHESTRATION_TASK_TIMEOUT_SECONDS)
        if isinstance(timeout, bool) or not isinstance(timeout, Real) or not 0 < timeout <= 3600:
            errors.setdefault(f"{where}.timeout_seconds", []).append(
                "A number of seconds above 0, at most 3600."
            )
            timeout = settings.ORCHESTRATION_TASK_TIMEOUT_SECONDS
        attempts = task.get("max_attempts", settings.ORCHESTRATION_TASK_MAX_ATTEMPTS)
        if isinstance(attempts, bool) or not isinstance(attempts, int) or not 1 <= attempts <= 10:
            errors.setdefault(f"{where}.max_attempts", []).append("A whole number from 1 to 10.")
            attempts = 1
        specs.append(
            _TaskSpec(
                agent_slug=values["agent"],
                capability=values["capability"],
                description=values["description"],
                input=values["input"],
                timeout_seconds=float(timeout),
                max_attempts=attempts,
            )
        )
    return specs


def run_create(
    *,
    account: Account,
    mode: str,
    tasks: list[dict],
    strategy: str = "",
    min_agreement: float = 0.5,
    strict: bool = True,
    started_by: AbstractBaseUser | None = None,
    conversation=None,
    request: str = "",
    aggregator: str = "",
    judge: str = "",
    reject_unavailable: bool = False,
    idempotency_key: str = "",
    allowed_modes: tuple[str, ...] = STARTABLE_MODES,
) -> WorkflowRun:
    """Validate a run's spec and save it with its tasks, without starting it.

    Raises ValidationError with per-field messages. A task whose agent is missing or
    suspended (or whose capability no active agent has) is saved as failed with that
    reason, unless ``reject_unavailable`` asks for a ValidationError instead (the API and
    the form, where the person can still fix the spec).
    """
    errors: dict[str, list[str]] = {}
    if mode not in allowed_modes:
        errors["mode"] = [f"Unknown mode {mode!r}; choose one of {', '.join(allowed_modes)}."]
    specs = _clean_tasks(tasks, mode, errors)
    if isinstance(min_agreement, bool) or not isinstance(min_agreement, Real) or not 0 <= min_agreement <= 1:
        errors["min_agreement"] = ["The minimum agreement is a share from 0 to 1, e.g. 0.66."]
    strategy = strategy or ""
    if mode == WorkflowRun.Mode.HIERARCHICAL:
        strategy = strategy or WorkflowRun.Strategy.CONCAT
        if strategy not in WorkflowRun.Strategy.values:
            errors["strategy"] = [
                f"Unknown aggregation {strategy!r}; choose one of {', '.join(WorkflowRun.Strategy.values)}."
            ]
    elif strategy:
        errors["strategy"] = ["An aggregation strategy applies to hierarchical runs only."]
    if not isinstance(request, str) or len(request) > TEXT_LIMIT:
        errors["request"] = [f"The request is text of at most {TEXT_LIMIT:,} characters."]
    if conversation is not None and conversation.account_id != account.pk:
        errors["conversation"] = ["That conversation belongs to another account."]
    if errors:
        raise ValidationError(errors)

    agents = {a.slug: a for a in AgentInstance.objects.filter(account=account)}
    plans = [
        planner.plan_task(account=account, agent_slug=s.agent_slug, capability=s.capability, agents=agents)
        for s in specs
    ]
    if reject_unavailable:
        for index, plan in enumerate(plans):
            if plan.agent is None:
                key = "agent" if specs[index].agent_slug else "capability"
                errors.setdefault(f"tasks.{index}.{key}", []).append(
                    plan.error[0].upper() + plan.error[1:] + "."
                )
    merger = None
    if mode == WorkflowRun.Mode.HIERARCHICAL and strategy == WorkflowRun.Strategy.MERGE:
        if aggregator:
            merger = agents.get(aggregator)
            if merger is None or merger.status != AgentInstance.Status.ACTIVE:
                errors["aggregator"] = [planner.not_available(aggregator).capitalize() + "."]
        else:
            merger = agent_default_for_account(account=account)
            if merger is None:
                errors["aggregator"] = ["This account has no active agent to merge the results."]
    if judge:
        if mode != WorkflowRun.Mode.CONSENSUS:
            errors["judge"] = ["A judge applies to consensus runs only."]
        else:
            merger = agents.get(judge)
            if merger is None or merger.status != AgentInstance.Status.ACTIVE:
                errors["judge"] = [planner.not_available(judge).capitalize() + "."]
    if errors:
        raise ValidationError(errors)

    seconds, cost = planner.run_estimate(mode=mode, strategy=strategy, tasks=plans, aggregator=merger)
    now = timezone.now()
    with transaction.atomic():
        run = WorkflowRun.objects.create(
            account=account,
            mode=mode,
            request=request,
            strategy=strategy,
            min_agreement=float(min_agreement),
            strict=bool(strict),
            aggregator=merger,
            started_by=started_by if started_by is not None and started_by.is_authenticated else None,
            conversation=conversation,
            idempotency_key=idempotency_key,
            estimated_seconds=seconds,
            estimated_cost_usd=cost,
        )
        TaskRun.objects.bulk_create(
            [
                TaskRun(
                    run=run,
                    position=index,
                    agent=plan.agent,
                    agent_slug=plan.agent.slug if plan.agent else spec.agent_slug,
                    capability=spec.capability,
                    description=spec.description,
                    input=spec.input,
                    timeout_seconds=spec.timeout_seconds,
                    max_attempts=spec.max_attempts,
                    estimated_seconds=plan.estimated_seconds,
                    estimated_cost_usd=plan.estimated_cost_usd,
                    status=RunStatus.PENDING if plan.agent else RunStatus.FAILED,
                    error="" if plan.agent else plan.error,
                    finished_at=None if plan.agent else now,
                )
                for index, (spec, plan) in enumerate(zip(specs, plans, strict=True))
            ]
        )
        transaction.on_commit(partial(publish_run_changed, account_id=account.pk, run_id=run.pk))
    return run


def run_start(
    *,
    account: Account,
    mode: str,
    tasks: list[dict],
    strategy: str = "",
    min_agreement: float = 0.5,
    strict: bool = True,
    started_by: AbstractBaseUser | None = None,
    conversation=None,
    request: str = "",
    aggregator: str = "",
    judge: str = "",
    reject_unavailable: bool = False,
) -> WorkflowRun:
    """Save a run (see ``run_create``) and start it on the Celery workers once committed.

    Task dicts: ``{"agent": slug | None, "capability": name | None, "description": str,
    "input": str}``, optionally ``timeout_seconds`` and ``max_attempts``.
    """
    with transaction.atomic():
        run = run_create(
            account=account,
            mode=mode,
            tasks=tasks,
            strategy=strategy,
            min_agreement=min_agreement,
            strict=strict,
            started_by=started_by,
            conversation=conversation,
            request=request,
            aggregator=aggregator,
            judge=judge,
            reject_unavailable=reject_unavailable,
        )
        transaction.on_commit(partial(run_advance, run_id=run.pk))
    return run


# --- Advancing a run: the join ----------------------------------------------------------------


@dataclass
class Advance:
    """What the run needs next: tasks to start, or the aggregation."""

    start: list[TaskRun] = field(default_factory=list)
    aggregate: bool = False


def _locked_run(run_id: int) -> WorkflowRun:
    return WorkflowRun.objects.select_for_update().get(pk=run_id)


def _next_steps(run: WorkflowRun) -> Advance:
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
                    _cancel_tasks(tasks[index + 1 :], reason="an earlier step failed (strict mode)")
                    _finish(run, tasks, RunStatus.FAILED, error=f"Step {index + 1} failed: {task.error}")
                    return Advance()
                continue  # non-strict: the failure is passed on to the next step
            if task.status == RunStatus.PENDING and task.enqueued_at is None:
                start = [task]
            break
        else:
            _finish_with_result(run, tasks)
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
            _finish_with_result(run, tasks)
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


def _dispatch(advance: Advance, run_id: int) -> None:
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
        run = _locked_run(run_id)
        advance = _next_steps(run)
        transaction.on_commit(partial(_dispatch, advance, run_id))
        transaction.on_commit(partial(publish_run_changed, account_id=run.account_id, run_id=run_id))


def _cancel_tasks(tasks: list[TaskRun], *, reason: str) -> list[str]:
    """Mark the tasks that are not final as cancelled; the Celery ids to revoke."""
    ids = [t.pk for t in tasks if not t.is_final]
    TaskRun.objects.filter(pk__in=ids).exclude(status__in=FINAL_STATUSES).update(
        status=RunStatus.CANCELLED, error=reason, finished_at=timezone.now(), lease_expires_at=None
    )
    return [t.celery_task_id for t in tasks if t.pk in ids and t.celery_task_id]


def _finish(
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


def _task_rows(tasks: list[TaskRun]) -> list[dict]:
    return [
        {"task_id": t.pk, "agent": t.agent_slug, "status": t.status, "result": t.result, "error": t.error}
        for t in tasks
    ]


def _finish_with_result(
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
        result = {"strategy": run.strategy, "answer": answer, "tasks": _task_rows(tasks)}
    elif run.mode == WorkflowRun.Mode.SEQUENTIAL:
        last = completed[-1].result if completed else ""
        result = {"answer": last, "tasks": _task_rows(tasks)}
    else:
        result = {"tasks": _task_rows(tasks)}
    result["failed_tasks"] = failed
    _finish(run, tasks, status, result=result, error=error)


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


def _lease_end() -> timezone.datetime:
    return timezone.now() + timedelta(seconds=settings.ORCHESTRATION_LEASE_SECONDS)


def _task_claim(task_id: int, *, force: bool = False) -> TaskRun | None:
    """Take the task for this attempt, or None when it is not ours to run: already final
    (a redelivered message), running under a live lease elsewhere, or its run is over.
    ``force`` takes a running task whatever its lease (an in-process run resumed by the
    only process that owns it)."""
    now = timezone.now()
    with transaction.atomic():
        # Lock the row and decide on what it holds now. (A conditional UPDATE that joins
        # the run would be a subquery, which PostgreSQL does not re-check against a row a
        # concurrent claim just changed: two claims of one task could both succeed.)
        task = (
            TaskRun.objects.select_for_update(of=("self",))
            .select_related("run", "agent")
            .filter(pk=task_id)
            .first()
        )
        if task is None:
            return None
        expired = task.lease_expires_at is not None and task.lease_expires_at < now
        takeable = task.status == RunStatus.PENDING or (
            task.status == RunStatus.IN_PROGRESS and (force or expired)
        )
        if task.run.status != RunStatus.IN_PROGRESS or not takeable:
            return None
        task.status, task.attempts, task.error = RunStatus.IN_PROGRESS, task.attempts + 1, ""
        task.lease_expires_at, task.started_at = _lease_end(), task.started_at or now
        task.save(update_fields=["status", "attempts", "error", "lease_expires_at", "started_at"])
    publish_run_changed(account_id=task.run.account_id, run_id=task.run_id)
    return task


class _Heartbeat(threading.Thread):
    """Renews the task's lease while its model answers, and notices when the task stops
    being ours (cancelled): the answer loop reads ``stopped`` between chunks."""

    def __init__(self, task_id: int) -> None:
        super().__init__(daemon=True, name=f"task-{task_id}-heartbeat")
        self.task_id = task_id
        self.stopped = False
        self._done = threading.Event()

    def run(self) -> None:
        lease = settings.ORCHESTRATION_LEASE_SECONDS
        renewed = time.monotonic()
        try:
            while not self._done.wait(min(0.5, lease / 3)):
                ours = TaskRun.objects.filter(pk=self.task_id, status=RunStatus.IN_PROGRESS)
                if time.monotonic() - renewed >= lease / 3:
                    alive = ours.update(lease_expires_at=_lease_end())
                    renewed = time.monotonic()
                else:
                    alive = ours.exists()
                if not alive:
                    self.stopped = True
                    return
        except Exception:  # a heartbeat must never kill the task; the lease just runs out
            logger.exception("heartbeat of task %s failed", self.task_id)
        finally:
            connection.close()

    def stop(self) -> None:
        self._done.set()


def task_execute(*, task_id: int, dispatch: bool = True, force: bool = False) -> None:
    """Run one attempt of a task and record its outcome; then advance the run (and, with
    ``dispatch``, send what starts next to the workers; an in-process run advances itself).

    Raises TaskRetryable when the attempt failed and attempts are left (the Celery task
    retries with backoff); a final failure is recorded on the task, never raised.
    """
    task = _task_claim(task_id, force=force)
    if task is None:
        return
    heartbeat = _Heartbeat(task.pk)
    heartbeat.start()
    try:
        answer = agent_answer(
            agent=task.agent,
            prompt=task_prompt(task),
            attempt=task.attempts,
            timeout_seconds=task.timeout_seconds,
            should_stop=lambda: heartbeat.stopped,
        )
    except AnswerStopped:
        return  # cancelled while it ran: the cancellation already recorded it
    except LLMError as error:  # includes timeouts
        _task_attempt_failed(task, str(error), dispatch=dispatch)
        return
    except OperationalError:
        # The database hiccuped: hand the task back so the Celery retry can claim it.
        TaskRun.objects.filter(pk=task.pk, status=RunStatus.IN_PROGRESS).update(
            status=RunStatus.PENDING, lease_expires_at=None
        )
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
        advance = _next_steps(run)
        transaction.on_commit(partial(_dispatch, advance, run.pk))
    transaction.on_commit(partial(publish_run_changed, account_id=run.account_id, run_id=run.pk))


def _task_completed(task: TaskRun, answer: AgentAnswer, *, dispatch: bool) -> None:
    with transaction.atomic():
        run = _locked_run(task.run_id)
        done = TaskRun.objects.filter(pk=task.pk, status=RunStatus.IN_PROGRESS).update(
            status=RunStatus.COMPLETED,
            result=answer.text,
            error="",
            finished_at=timezone.now(),
            lease_expires_at=None,
            model=answer.model,
            prompt_tokens=answer.prompt_tokens,
            completion_tokens=answer.completion_tokens,
            cost_usd=Decimal(str(answer.cost_usd)),
            latency_ms=answer.latency_ms,
        )
        if done:
            _add_usage(run, answer)
        _advance_after_task(run, dispatch)


def _add_usage(run: WorkflowRun, answer: AgentAnswer) -> None:
    WorkflowRun.objects.filter(pk=run.pk).update(
        tokens=F("tokens") + answer.tokens, cost_usd=F("cost_usd") + Decimal(str(answer.cost_usd))
    )


def _task_attempt_failed(task: TaskRun, error: str, *, retry: bool = True, dispatch: bool = True) -> None:
    with transaction.atomic():
        run = _locked_run(task.run_id)
        current = TaskRun.objects.filter(pk=task.pk, status=RunStatus.IN_PROGRESS)
        if retry and task.attempts < task.max_attempts:
            delay = settings.ORCHESTRATION_RETRY_BACKOFF_SECONDS * 2 ** (task.attempts - 1)
            # Enqueued "later", so crash recovery does not re-send it before the retry is due.
            current.update(
                status=RunStatus.PENDING,
                error=f"attempt {task.attempts} failed: {error}",
                lease_expires_at=None,
                enqueued_at=timezone.now() + timedelta(seconds=delay),
            )
            transaction.on_commit(partial(publish_run_changed, account_id=run.account_id, run_id=run.pk))
            retry_now = True
        else:
            current.update(
                status=RunStatus.FAILED, error=error, finished_at=timezone.now(), lease_expires_at=None
            )
            _advance_after_task(run, dispatch)
            retry_now = False
    if retry_now:
        raise TaskRetryable(error)


def retry_delay(task_id: int) -> float:
    """The backoff before the task's next attempt: doubles with each attempt."""
    attempts = TaskRun.objects.filter(pk=task_id).values_list("attempts", flat=True).first() or 1
    return settings.ORCHESTRATION_RETRY_BACKOFF_SECONDS * 2 ** (attempts - 1)


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
            locked = _locked_run(run_id)
            if run.mode == WorkflowRun.Mode.CONSENSUS:
                # Without its judge the vote still stands on normalised answers.
                _finish_with_result(locked, tasks, judged=(None, f"{purpose} failed: {error}"))
            else:
                _finish(locked, tasks, RunStatus.FAILED, result={"tasks": _task_rows(tasks)},
                        error=f"{purpose} failed: {error}")  # fmt: skip
        return
    with transaction.atomic():
        locked = _locked_run(run_id)
        _add_usage(locked, answer)
        if run.mode == WorkflowRun.Mode.CONSENSUS:
            forms = voting.judged_forms(answer.text, [t.result for t in completed])
            _finish_with_result(locked, tasks, judged=(forms, answer.text))
        else:
            _finish_with_result(locked, tasks, merged=answer)


# --- Cancelling ------------------------------------------------------------------------------


def run_cancel(*, run: WorkflowRun) -> WorkflowRun:
    """Cancel the run: tasks not yet final are marked cancelled and their Celery tasks
    revoked; a task that is running stops at its next chunk (its heartbeat sees it)."""
    with transaction.atomic():
        locked = _locked_run(run.pk)
        if locked.is_final:
            raise ValidationError({"status": f"The run is already {locked.get_status_display().lower()}."})
        tasks = list(locked.tasks.all())
        revoke = _cancel_tasks(tasks, reason="cancelled")
        _finish(locked, tasks, RunStatus.CANCELLED, result={"tasks": _task_rows(list(locked.tasks.all()))})
        transaction.on_commit(partial(_revoke, revoke))
    locked.refresh_from_db()
    return locked


def _revoke(celery_ids: list[str]) -> None:
    if not celery_ids:
        return
    from config.celery import app

    # The threads pool cannot terminate a running task, so no terminate=True: revoking
    # drops queued messages, and a running task stops itself via its heartbeat.
    app.control.revoke(celery_ids)


# --- Crash recovery ----------------------------------------------------------------------------


def runs_recover_orphaned() -> list[int]:
    """Re-send the tasks a dead worker left: running under an expired lease, or enqueued
    long ago and never started (a message the dead worker had reserved). Finished tasks
    are never run again; a duplicate message for a live task finds it claimed and does
    nothing. Also advances runs whose join was interrupted. Returns the re-sent task ids."""
    close_old_connections()
    now = timezone.now()
    stale = now - timedelta(seconds=settings.ORCHESTRATION_LEASE_SECONDS)
    orphans = TaskRun.objects.filter(run__status=RunStatus.IN_PROGRESS).filter(
        Q(status=RunStatus.IN_PROGRESS, lease_expires_at__lt=now)
        | Q(status=RunStatus.PENDING, enqueued_at__lt=stale)
    )
    resent: list[int] = []
    for task_id in orphans.values_list("pk", flat=True):
        with transaction.atomic():
            # Re-checked under the row's lock: a worker may have claimed it meanwhile.
            task = TaskRun.objects.select_for_update().filter(pk=task_id).first()
            if task is None:
                continue
            lease = task.lease_expires_at
            running_dead = task.status == RunStatus.IN_PROGRESS and (lease is None or lease < now)
            never_started = task.status == RunStatus.PENDING and task.enqueued_at and task.enqueued_at < stale
            if not (running_dead or never_started):
                continue
            task.celery_task_id = uuid.uuid4().hex
            TaskRun.objects.filter(pk=task_id).update(
                status=RunStatus.PENDING,
                lease_expires_at=None,
                enqueued_at=now,
                celery_task_id=task.celery_task_id,
            )
            transaction.on_commit(partial(_dispatch, Advance(start=[task]), task.run_id))
            resent.append(task_id)
    # Aggregations (merge, judge) whose worker died: claimed long ago, run never finished.
    aggregation_stale = stale - timedelta(seconds=settings.ORCHESTRATION_TASK_TIMEOUT_SECONDS)
    stuck = WorkflowRun.objects.filter(status=RunStatus.IN_PROGRESS, finishing_at__lt=aggregation_stale)
    for run_id in stuck.values_list("pk", flat=True):
        WorkflowRun.objects.filter(pk=run_id).update(finishing_at=now)
        _dispatch(Advance(aggregate=True), run_id)
    # Runs whose every task is final but which were never finished (the join was lost), and
    # runs never started (the process that saved one died, or Redis was down, before it was
    # sent). Advancing twice is harmless: each task is sent once, under the run's lock.
    # Delegated runs are left alone: the turn that owns one runs it in its own process.
    unfinished = (
        WorkflowRun.objects.filter(status=RunStatus.IN_PROGRESS, finishing_at__isnull=True)
        .exclude(tasks__status__in=[RunStatus.PENDING, RunStatus.IN_PROGRESS])
        .values_list("pk", flat=True)
    )
    unstarted = (
        WorkflowRun.objects.filter(status=RunStatus.PENDING, created_at__lt=now - UNSTARTED_GRACE)
        .exclude(mode=WorkflowRun.Mode.DELEGATE)
        .values_list("pk", flat=True)
    )
    for run_id in [*unfinished, *unstarted]:
        run_advance(run_id=run_id)
    if resent:
        logger.info("re-sent %d orphaned orchestration tasks: %s", len(resent), resent)
    return resent


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
            advance = _next_steps(_locked_run(run_id))
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
