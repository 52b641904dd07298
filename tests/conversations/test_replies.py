"""The reply engine in-process, on the scripted model: every outcome a worker can reach."""

import threading
import time
from datetime import timedelta

import pytest
from django.db import connections
from django.utils import timezone

import durable
from conversations.models import Message
from conversations.replies import reply_generate
from conversations.services import conversation_start, message_send, reply_cancel

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def ask(account, member):
    def ask(content: str) -> tuple[Message, Message]:
        conversation = conversation_start(account=account, user=member)
        return message_send(conversation=conversation, user=member, content=content)

    return ask


def test_a_reply_streams_to_completion_with_usage_recorded(ask):
    _, reply = ask("count=5")
    reply_generate(message_id=reply.pk)
    reply.refresh_from_db()
    assert reply.status == Message.Status.COMPLETE
    assert reply.content == "w1 w2 w3 w4 w5"
    assert reply.model == "scripted/default"
    assert reply.completion_tokens > 0 and reply.prompt_tokens > 0
    assert reply.latency_ms is not None and reply.first_token_ms is not None
    assert reply.frames >= 1
    assert reply.attempts == 1
    assert reply.lease_expires_at is None


def test_the_model_sees_the_conversation_so_far(ask, member):
    question, reply = ask("first question")
    reply_generate(message_id=reply.pk)
    _, second = message_send(conversation=question.conversation, user=member, content="second")
    reply_generate(message_id=second.pk)
    second.refresh_from_db()
    assert second.content == "You said: second"  # the scripted model answers the latest user turn


def test_a_model_failure_before_the_first_token_fails_the_reply_visibly(ask):
    question, reply = ask("fail=0")
    reply_generate(message_id=reply.pk)
    reply.refresh_from_db()
    assert reply.status == Message.Status.FAILED
    assert reply.error.startswith("The model could not answer")
    question.refresh_from_db()
    assert question.content == "fail=0"  # the user's message is kept


def test_a_failure_mid_stream_keeps_the_text_already_shown(ask):
    _, reply = ask("count=10 fail=3")
    reply_generate(message_id=reply.pk)
    reply.refresh_from_db()
    assert reply.status == Message.Status.FAILED
    assert reply.content == "w1 w2 w3 "
    assert "stopped mid-answer" in reply.error


def test_a_redelivered_task_does_not_write_a_second_reply(ask):
    question, reply = ask("count=3")
    reply_generate(message_id=reply.pk)
    reply_generate(message_id=reply.pk)
    reply.refresh_from_db()
    assert reply.attempts == 1
    assert reply.content == "w1 w2 w3"
    assert question.conversation.messages.filter(role="assistant").count() == 1


def test_a_reply_held_by_a_live_worker_is_left_alone(ask):
    _, reply = ask("count=3")
    Message.objects.filter(pk=reply.pk).update(
        status=Message.Status.STREAMING, attempts=1, content="w1 ",
        lease_expires_at=timezone.now() + timedelta(minutes=1),
    )  # fmt: skip
    reply_generate(message_id=reply.pk)
    reply.refresh_from_db()
    assert (reply.status, reply.content, reply.attempts) == (Message.Status.STREAMING, "w1 ", 1)


def test_an_orphaned_reply_is_recovered_and_restarted_from_scratch(ask):
    _, reply = ask("count=4")
    Message.objects.filter(pk=reply.pk).update(
        status=Message.Status.STREAMING, attempts=1, content="w1 w2 ",
        lease_expires_at=timezone.now() - timedelta(seconds=1),
    )  # fmt: skip
    assert durable.recover("reply") == [reply.pk]
    reply_generate(message_id=reply.pk)
    reply.refresh_from_db()
    assert reply.status == Message.Status.COMPLETE
    assert reply.content == "w1 w2 w3 w4"  # not "w1 w2 w1 w2 ..."
    assert reply.attempts == 2


def test_a_reply_interrupted_too_often_fails_with_a_message(ask, settings):
    _, reply = ask("count=4")
    Message.objects.filter(pk=reply.pk).update(
        status=Message.Status.STREAMING, attempts=3, interruptions=settings.REPLY_MAX_ATTEMPTS - 1,
        lease_expires_at=timezone.now() - timedelta(seconds=1),
    )  # fmt: skip
    reply_generate(message_id=reply.pk)
    reply.refresh_from_db()
    assert reply.status == Message.Status.FAILED
    assert "send it again" in reply.error


def test_recovery_ignores_finished_and_live_replies(ask):
    _, done = ask("count=1")
    reply_generate(message_id=done.pk)
    _, live = ask("count=1")
    Message.objects.filter(pk=live.pk).update(
        status=Message.Status.STREAMING, lease_expires_at=timezone.now() + timedelta(minutes=1)
    )
    assert durable.recover("reply") == []


def test_stop_during_streaming_keeps_what_was_written_and_stops_the_model(ask):
    _, reply = ask("count=200 delay=0.01")

    def work() -> None:
        try:
            reply_generate(message_id=reply.pk)
        finally:
            connections.close_all()  # or the test database cannot be dropped at the end

    worker = threading.Thread(target=work)
    worker.start()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        reply.refresh_from_db()
        if reply.content:
            break
        time.sleep(0.02)
    reply_cancel(reply=reply)
    worker.join(timeout=10)
    reply.refresh_from_db()
    assert reply.status == Message.Status.CANCELLED
    assert reply.content.startswith("w1 ")
    assert "w200" not in reply.content


def test_stopping_a_finished_reply_changes_nothing(ask):
    _, reply = ask("count=2")
    reply_generate(message_id=reply.pk)
    reply.refresh_from_db()
    assert reply_cancel(reply=reply).status == Message.Status.COMPLETE


def test_a_reply_waiting_on_a_slow_model_keeps_its_lease(ask, settings):
    settings.REPLY_LEASE_SECONDS = 0.6  # renewed every 0.2 s by the heartbeat
    _, reply = ask("count=1 delay=2")  # two seconds before the first token

    def work() -> None:
        try:
            reply_generate(message_id=reply.pk)
        finally:
            connections.close_all()

    worker = threading.Thread(target=work)
    worker.start()
    time.sleep(1.2)  # two leases' worth, with no text flowing
    reply.refresh_from_db()
    assert reply.status == Message.Status.STREAMING and reply.content == ""
    assert durable.recover("reply") == []  # still alive: not taken away
    worker.join(timeout=10)
    reply.refresh_from_db()
    assert (reply.status, reply.content, reply.attempts, reply.interruptions) == ("complete", "w1", 1, 0)
