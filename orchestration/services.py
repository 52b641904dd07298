"""Writes for runs of agents: validate a run's spec and save it, start it, cancel it.

What happens once a run is started is in ``orchestration.engine`` (the join between tasks
and the aggregation), ``orchestration.runner`` (one task's attempt under a lease) and
``orchestration.recovery`` (what a dead worker left).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from numbers import Real

from celery import current_app
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import Account
from agents.models import AgentInstance
from agents.selectors import agent_default_for_account
from orchestration import planner
from orchestration.engine import run_advance, run_finish, run_lock, task_rows, tasks_cancel
from orchestration.models import RunStatus, TaskRun, WorkflowRun
from orchestration.realtime import publish_run_changed

STARTABLE_MODES = (
    WorkflowRun.Mode.SEQUENTIAL,
    WorkflowRun.Mode.PARALLEL,
    WorkflowRun.Mode.HIERARCHICAL,
    WorkflowRun.Mode.CONSENSUS,
)
TEXT_LIMIT = 20_000
TASK_KEYS = {"agent", "capability", "description", "input", "timeout_seconds", "max_attempts"}


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
    history = planner.agent_history(agent_ids=[a.pk for a in agents.values()])
    plans = [
        planner.plan_task(
            account=account, agent_slug=s.agent_slug, capability=s.capability, agents=agents, history=history
        )
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


# --- Cancelling ------------------------------------------------------------------------------


def run_cancel(*, run: WorkflowRun) -> WorkflowRun:
    """Cancel the run: tasks not yet final are marked cancelled and their Celery tasks
    revoked; a task that is running stops at its next chunk (its heartbeat sees it)."""
    with transaction.atomic():
        locked = run_lock(run.pk)
        if locked.is_final:
            raise ValidationError({"status": f"The run is already {locked.get_status_display().lower()}."})
        tasks = list(locked.tasks.all())
        revoke = tasks_cancel(tasks, reason="cancelled")
        run_finish(locked, tasks, RunStatus.CANCELLED, result={"tasks": task_rows(list(locked.tasks.all()))})
        transaction.on_commit(partial(_revoke, revoke))
    locked.refresh_from_db()
    return locked


def _revoke(celery_ids: list[str]) -> None:
    if not celery_ids:
        return
    # The threads pool cannot terminate a running task, so no terminate=True: revoking
    # drops queued messages, and a running task stops itself via its heartbeat.
    current_app.control.revoke(celery_ids)
