"""What a dead worker left of runs, found and sent again (the ``durable`` recovery scan).

Three kinds of work, registered in ``OrchestrationConfig.ready``: tasks (running under a
lease that passed, or enqueued long ago and never started: a message the dead worker had
reserved, or one lost with Redis), aggregations (a merge or a judge whose worker died), and
runs (every task final but the join was lost, or never started at all). Finished tasks
never run again; a duplicate message for a live task finds it claimed and does nothing.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

import durable
from orchestration.engine import Advance, run_advance, run_dispatch
from orchestration.models import RunStatus, TaskRun, WorkflowRun
from orchestration.runner import LEASE

# How long a saved run may wait for its start to be sent before recovery sends it.
UNSTARTED_GRACE = timedelta(seconds=10)


def task_orphans() -> list[int]:
    """Tasks of runs in progress whose worker died, or whose message never started them."""
    orphaned = durable.orphans(
        terms=LEASE,
        running=Q(status=RunStatus.IN_PROGRESS),
        waiting=Q(status=RunStatus.PENDING),
        waiting_since="enqueued_at",
    )
    in_progress = TaskRun.objects.filter(run__status=RunStatus.IN_PROGRESS)
    return list(in_progress.filter(orphaned).values_list("pk", flat=True))


def task_resend(task_id: int) -> bool:
    """Hand the task back (pending, under a new Celery id) and send it; re-checked under the
    row's lock first, since a worker may have claimed it meanwhile."""
    now = timezone.now()
    with transaction.atomic():
        task = durable.lock(TaskRun.objects.all(), task_id)
        if task is None:
            return False
        running_dead = task.status == RunStatus.IN_PROGRESS and (
            durable.lease_state(task, now=now) != durable.LeaseState.LIVE
        )
        never_started = (
            task.status == RunStatus.PENDING
            and task.enqueued_at is not None
            and task.enqueued_at <= LEASE.stale_before(now)
        )
        if not (running_dead or never_started):
            return False
        task.celery_task_id = uuid.uuid4().hex
        durable.release(
            TaskRun.objects.filter(pk=task_id),
            status=RunStatus.PENDING,
            enqueued_at=now,
            celery_task_id=task.celery_task_id,
        )
        transaction.on_commit(partial(run_dispatch, Advance(start=[task]), task.run_id))
    return True


def _aggregation_stale(now: datetime) -> datetime:
    # An aggregation is one model call: give it its timeout on top of a lease.
    return LEASE.stale_before(now) - timedelta(seconds=settings.ORCHESTRATION_TASK_TIMEOUT_SECONDS)


def aggregation_orphans() -> list[int]:
    """Runs whose aggregation (merge, judge) was claimed long ago and never finished."""
    stale = _aggregation_stale(timezone.now())
    return list(
        WorkflowRun.objects.filter(status=RunStatus.IN_PROGRESS, finishing_at__lt=stale).values_list(
            "pk", flat=True
        )
    )


def aggregation_resend(run_id: int) -> bool:
    """Claim the aggregation again (a conditional update: two scans send it once) and send it."""
    now = timezone.now()
    claimed = WorkflowRun.objects.filter(
        pk=run_id, status=RunStatus.IN_PROGRESS, finishing_at__lt=_aggregation_stale(now)
    ).update(finishing_at=now)
    if claimed:
        run_dispatch(Advance(aggregate=True), run_id)
    return bool(claimed)


def run_orphans() -> list[int]:
    """Runs whose every task is final but which were never finished (the join was lost), and
    runs never started (the process that saved one died, or Redis was down, before it was
    sent). Delegated runs are left alone: the turn that owns one runs it in its own process."""
    unfinished = (
        WorkflowRun.objects.filter(status=RunStatus.IN_PROGRESS, finishing_at__isnull=True)
        .exclude(tasks__status__in=[RunStatus.PENDING, RunStatus.IN_PROGRESS])
        .values_list("pk", flat=True)
    )
    unstarted = (
        WorkflowRun.objects.filter(status=RunStatus.PENDING, created_at__lt=timezone.now() - UNSTARTED_GRACE)
        .exclude(mode=WorkflowRun.Mode.DELEGATE)
        .values_list("pk", flat=True)
    )
    return [*unfinished, *unstarted]


def run_resend(run_id: int) -> bool:
    """Advance the run. Advancing twice is harmless: each task is sent once, under the run's lock."""
    run_advance(run_id=run_id)
    return True


def register() -> None:
    """Tasks first, so a run's join sees them re-sent before it is advanced."""
    durable.register("run_task", find=task_orphans, resend=task_resend)
    durable.register("run_aggregation", find=aggregation_orphans, resend=aggregation_resend)
    durable.register("run", find=run_orphans, resend=run_resend)
