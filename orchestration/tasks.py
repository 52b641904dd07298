"""Celery tasks of runs: each takes ids and calls one service."""

from celery import shared_task
from django.conf import settings
from django.db import OperationalError

from durable import RecoveredTask
from orchestration.engine import run_aggregate
from orchestration.runner import TaskRetryable, retry_delay, task_execute


@shared_task(
    bind=True,
    base=RecoveredTask,  # queued while Redis is down: the recovery scan sends it instead
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    retry_backoff_max=60,
    max_retries=10,
    # No Celery time limit of its own: the threads pool cannot enforce one, so each task
    # stops itself at its TaskRun.timeout_seconds (see orchestration.execution).
)
def execute_task(self, task_run_id: int) -> None:
    try:
        task_execute(task_id=task_run_id)
    except TaskRetryable as error:
        # The attempt failed and the task has attempts left: back off (doubling) and retry.
        raise self.retry(
            exc=error,
            countdown=retry_delay(task_run_id),
            max_retries=settings.ORCHESTRATION_TASK_MAX_ATTEMPTS + 10,
        ) from error


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=10)
def aggregate_run(run_id: int) -> None:
    run_aggregate(run_id=run_id)
