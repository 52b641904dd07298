"""The evaluation run's task: one batch of cases, then the next batch is queued."""

from celery import shared_task

from analytics.evaluation import runner


@shared_task(name="analytics.evaluation_run_advance", autoretry_for=(ConnectionError,), max_retries=3)
def evaluation_run_advance(run_id: int) -> None:
    if runner.evaluation_run_advance(run_id=run_id):
        evaluation_run_advance.delay(run_id)
