from celery import shared_task
from django.db import OperationalError

from conversations.replies import reply_generate


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def generate_reply(message_id: int) -> None:
    reply_generate(message_id=message_id)
