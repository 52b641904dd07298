"""Escalation work started while Redis is down (its task messages cannot be queued): a reply that
finished meanwhile is still inspected, and the ladder phase that inspection opened is sent by the
recovery scan once Redis is back. In-process, on a private Redis that the test kills."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.utils import timezone

import durable
from config.celery import app
from config.settings import celery_broker_url
from conversations.models import Message
from conversations.replies import reply_generate
from conversations.services import conversation_start, message_send
from escalations.ladder import LEASE, phase_run
from escalations.models import Escalation, PhaseRun
from tests.support.faults import PrivateRedis

pytestmark = pytest.mark.django_db(transaction=True)

CANT = "@assistant: say I don't know how to fix that."


@contextmanager
def broker_at(server: PrivateRedis) -> Iterator[None]:
    """This process's Celery app sends its task messages to ``server`` (the real transport). Its
    producer pools are only let go of, not closed: kombu keeps one per broker URL and would hand
    the closed one back."""

    def reconnect(url: str) -> None:
        app.conf.broker_url = url
        app._pool = None
        app.amqp._producer_pool = None

    saved = app.conf.broker_url
    reconnect(celery_broker_url(server.url))
    try:
        yield
    finally:
        reconnect(saved)


def _queued(server: PrivateRedis) -> list[tuple[str, str]]:
    """The task messages waiting in the queue: (task name, its arguments)."""
    raw = server.client().lrange(app.conf.task_default_queue, 0, -1)
    headers = [json.loads(message)["headers"] for message in raw]
    return [(h["task"], h["argsrepr"]) for h in headers]


def test_a_reply_finished_while_redis_is_down_is_inspected_and_its_phase_sent_by_recovery(
    account, member, private_redis
):
    conversation = conversation_start(account=account, user=member)
    _, reply = message_send(conversation=conversation, user=member, content=CANT)
    with broker_at(private_redis):
        private_redis.kill()
        # The worker writes the reply while Redis is down: neither the inspection's task nor the
        # phase's can be queued, and the reply finishes all the same.
        reply_generate(message_id=reply.pk)
        reply.refresh_from_db()
        assert reply.status == Message.Status.COMPLETE, reply.error
        escalation = Escalation.objects.get(message=reply)  # inspected here instead
        assert (escalation.status, escalation.phase) == ("ladder", "quick_fix")
        assert not PhaseRun.objects.filter(escalation=escalation).exists()

        private_redis.start()  # back, empty: the phase's message is gone with it
        assert _queued(private_redis) == []
        assert durable.recover("escalation_phase") == []  # its message may still be on the way
        waited = timezone.now() - timedelta(
            seconds=min(LEASE.seconds, durable.leases.WAITING_GRACE_SECONDS) + 1
        )
        Escalation.objects.filter(pk=escalation.pk).update(updated_at=waited)
        assert durable.recover("escalation_phase") == [escalation.pk]
        assert _queued(private_redis) == [("escalations.tasks.run_phase", f"({escalation.pk}, 'quick_fix')")]

    phase_run(escalation_id=escalation.pk, phase="quick_fix")  # what the worker does with it
    run = PhaseRun.objects.get(escalation=escalation, phase="quick_fix")
    assert run.attempts == 1 and run.outcome != "running"
