"""Celery tasks of the ladder: each takes ids, declares its retries and calls one service."""

from celery import shared_task
from django.db import OperationalError

from durable import RecoveredTask
from escalations.consultation import consultation_collect
from escalations.ladder import phase_run
from escalations.notifications import escalation_email_send
from escalations.triggers import feedback_inspect, reply_inspect


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def inspect_reply(message_id: int) -> None:
    reply_inspect(reply_id=message_id)


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def inspect_feedback(message_id: int) -> None:
    feedback_inspect(message_id=message_id)


# RecoveredTask: queued while Redis is down, the phase is sent by the recovery scan instead.
@shared_task(base=RecoveredTask, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def run_phase(escalation_id: int, phase: str) -> None:
    phase_run(escalation_id=escalation_id, phase=phase)


# RecoveredTask: queued while Redis is down, the collection is sent by the recovery scan instead
# (``consultation_orphans``: a consultation whose run finished and nobody collected it).
@shared_task(base=RecoveredTask, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def collect_consultation(escalation_id: int) -> None:
    consultation_collect(escalation_id=escalation_id)


# Any failure to send (SMTP down, refused, timed out) is retried with backoff, for about
# an hour in all; the escalation is in the queue whatever happens to its email.
@shared_task(autoretry_for=(Exception,), retry_backoff=30, retry_backoff_max=900, max_retries=8)
def email_operators(escalation_id: int) -> None:
    escalation_email_send(escalation_id=escalation_id)
