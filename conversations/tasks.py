from celery import shared_task
from celery.signals import worker_ready
from django.db import OperationalError

from conversations.replies import replies_recover_orphaned, reply_generate


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def generate_reply(message_id: int) -> None:
    reply_generate(message_id=message_id)


@shared_task
def recover_orphaned_replies() -> list[int]:
    return replies_recover_orphaned()


@worker_ready.connect
def recover_on_start(**_kwargs) -> None:
    # A worker that starts after a crash picks up what the dead one left behind.
    recover_orphaned_replies.delay()
