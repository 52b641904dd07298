from celery import shared_task
from django.db import OperationalError

from conversations.replies import reply_generate
from durable import RecoveredTask


# A database outage is retried with backoff (about 30 s in all); the recovery scan resumes the reply
# after longer ones. RecoveredTask: queued while Redis is down, it is sent by the scan instead.
@shared_task(base=RecoveredTask, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def generate_reply(message_id: int) -> None:
    reply_generate(message_id=message_id)
