"""The one recovery task: run by beat, and sent by every worker as it starts (a worker that
starts after a crash picks up what the dead one left)."""

from celery import shared_task
from celery.signals import worker_ready

from durable.registry import recover_all


@shared_task(name="durable.recover_orphans")
def recover_orphans() -> dict[str, list[int]]:
    return recover_all()


@worker_ready.connect
def recover_on_worker_start(**_kwargs: object) -> None:
    recover_orphans.delay()
