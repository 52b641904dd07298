"""Double texting: a message sent while the previous reply is still running is refused,
queued, answered after interrupting that reply, or answered in its place (rollback), by the
account's setting or the API call's ``multitask_strategy``; also when two arrive at once."""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.db import connections
from django.test import Client
from django.utils import timezone

import durable
from accounts.auth import api_token_create
from accounts.models import Account
from conversations.double_texting import INTERRUPTED_NOTE
from conversations.models import Conversation, Message
from conversations.replies import reply_generate
from conversations.selectors import messages_for_conversation, model_history
from conversations.services import ReplyInFlight, conversation_start, message_send, reply_cancel

pytestmark = pytest.mark.django_db(transaction=True)

Status = Message.Status
HTMX = {"HTTP_HX_REQUEST": "true"}
SLOW = "count=400 delay=0.01"  # about four seconds of streaming: stopped long before its end


@pytest.fixture
def conversation(account, member) -> Conversation:
    return conversation_start(account=account, user=member)


@contextmanager
def _eager():
    """Tasks queued inside run at once, here: a finished reply starts the next queued one."""
    from config.celery import app as celery_app

    celery_app.conf.task_always_eager = True
    try:
        yield
    finally:
        celery_app.conf.task_always_eager = False


def _use(account: Account, strategy: str) -> None:
    account.double_texting = strategy
    account.save(update_fields=["double_texting"])


def _bearer(user) -> dict[str, str]:
    _, raw = api_token_create(user=user, name="tests")
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def _api_send(headers: dict, conversation: Conversation, message: str, **extra):
    payload = {"message": message, "conversation_id": conversation.pk, "wait_seconds": 0, **extra}
    return Client().post("/api/chat/message", payload, content_type="application/json", **headers)


def _stream_in_background(reply: Message) -> threading.Thread:
    """A worker writing ``reply``; returns once its first words are in the database."""

    def work() -> None:
        try:
            reply_generate(message_id=reply.pk)
        finally:
            connections.close_all()

    worker = threading.Thread(target=work)
    worker.start()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        reply.refresh_from_db()
        if reply.content:
            return worker
        time.sleep(0.02)
    raise AssertionError("the reply never started streaming")


def _at_once(*sends) -> list:
    """Run the sends in threads released together; each result or the exception it raised."""
    barrier = threading.Barrier(len(sends))
    results: list = [None] * len(sends)

    def run(index: int, send) -> None:
        try:
            barrier.wait()
            results[index] = send()
        except Exception as error:  # the test asserts on it
            results[index] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, send)) for i, send in enumerate(sends)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


def _replies(conversation: Conversation) -> list[Message]:
    return list(conversation.messages.filter(role=Message.Role.ASSISTANT).order_by("created_at", "id"))


def test_a_new_account_queues_a_second_message():
    assert Account().double_texting == Account.DoubleTexting.ENQUEUE


# -- enqueue -------------------------------------------------------------------------------------


def test_enqueue_saves_each_message_at_once_and_answers_them_in_order(conversation, member):
    _, first = message_send(conversation=conversation, user=member, content="count=3")
    second_q, second = message_send(conversation=conversation, user=member, content="second")
    third_q, third = message_send(conversation=conversation, user=member, content="third")
    assert (second.status, third.status) == (Status.QUEUED, Status.QUEUED)
    assert second_q.pk and third_q.pk  # saved at once, not held back

    with _eager():
        reply_generate(message_id=first.pk)  # its finish starts the next, whose finish starts the last

    replies = _replies(conversation)
    assert [r.status for r in replies] == [Status.COMPLETE] * 3
    assert [r.content for r in replies] == ["w1 w2 w3", "You said: second", "You said: third"]
    assert replies[0].completed_at <= replies[1].completed_at <= replies[2].completed_at


def test_a_queued_message_is_not_lost_when_the_worker_dies(conversation, member):
    _, first = message_send(conversation=conversation, user=member, content="count=4")
    _, second = message_send(conversation=conversation, user=member, content="after the crash")
    # The worker writing the first reply died: its lease ran out mid-stream.
    Message.objects.filter(pk=first.pk).update(
        status=Status.STREAMING,
        attempts=1,
        content="w1 ",
        lease_expires_at=timezone.now() - timedelta(seconds=1),
    )

    with _eager():
        assert first.pk in durable.recover("reply")  # re-run, finished, and the queue moved on

    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, first.content) == (Status.COMPLETE, "w1 w2 w3 w4")
    assert (second.status, second.content) == (Status.COMPLETE, "You said: after the crash")


def test_a_queue_with_nothing_running_in_front_is_started_by_the_recovery_scan(conversation, member):
    _, first = message_send(conversation=conversation, user=member, content="count=2")
    _, second = message_send(conversation=conversation, user=member, content="stalled")
    # As if the first reply had finished without moving the queue (a crash between the two).
    Message.objects.filter(pk=first.pk).update(status=Status.COMPLETE, completed_at=timezone.now())

    with _eager():
        assert second.pk in durable.recover("reply")

    second.refresh_from_db()
    assert (second.status, second.content) == (Status.COMPLETE, "You said: stalled")


def test_stopping_a_queued_message_cancels_it_and_the_queue_goes_on(conversation, member):
    _, first = message_send(conversation=conversation, user=member, content="count=2")
    _, second = message_send(conversation=conversation, user=member, content="never mind")
    _, third = message_send(conversation=conversation, user=member, content="this one")
    assert reply_cancel(reply=second).status == Status.CANCELLED
    with _eager():
        reply_generate(message_id=first.pk)
    third.refresh_from_db()
    assert (third.status, third.content) == (Status.COMPLETE, "You said: this one")


def test_a_queued_question_is_marked_queued_in_the_chat_until_its_reply_starts(
    member_client, conversation, member
):
    _, first = message_send(conversation=conversation, user=member, content="count=2")
    response = member_client.post(f"/chat/{conversation.pk}/messages/", {"message": "second"}, **HTMX)
    assert response.status_code == 201
    body = response.content.decode()
    assert body.count("data-queued") == 2  # the question's mark and the reply's badge
    assert 'data-status="queued"' in body

    page = member_client.get(f"/chat/{conversation.pk}/").content.decode()
    assert page.count("data-queued") == 2
    reply_generate(message_id=first.pk)  # not eager: the second is started, not yet answered
    page = member_client.get(f"/chat/{conversation.pk}/").content.decode()
    assert "data-queued" not in page


# -- interrupt -----------------------------------------------------------------------------------


def test_interrupt_keeps_the_partial_reply_marked_and_answers_with_it_in_context(
    conversation, member, account
):
    _use(account, Account.DoubleTexting.INTERRUPT)
    _, first = message_send(conversation=conversation, user=member, content=SLOW)
    worker = _stream_in_background(first)

    _, second = message_send(conversation=conversation, user=member, content="actually, stop")
    first.refresh_from_db()
    partial = first.content
    worker.join(timeout=10)

    first.refresh_from_db()
    assert first.status == Status.INTERRUPTED
    assert first.content == partial and partial.startswith("w1 ") and "w400" not in partial
    assert second.status == Status.PENDING
    history = model_history(reply=second)
    assert [m["role"] for m in history[-3:]] == ["user", "assistant", "user"]
    assert history[-2]["content"] == f"{partial}\n\n{INTERRUPTED_NOTE}"

    reply_generate(message_id=second.pk)
    second.refresh_from_db()
    assert (second.status, second.content) == (Status.COMPLETE, "You said: actually, stop")


# -- rollback ------------------------------------------------------------------------------------


def test_rollback_hides_the_running_reply_and_its_question_and_answers_the_new_one(
    conversation, member, account, member_client
):
    _use(account, Account.DoubleTexting.ROLLBACK)
    first_q, first = message_send(conversation=conversation, user=member, content=SLOW)
    worker = _stream_in_background(first)

    _, second = message_send(conversation=conversation, user=member, content="ask this instead")
    worker.join(timeout=10)

    first_q.refresh_from_db()
    first.refresh_from_db()
    assert (first_q.status, first.status) == (Status.DISCARDED, Status.DISCARDED)  # kept, not deleted
    shown = list(messages_for_conversation(conversation=conversation))
    assert first_q not in shown and first not in shown
    assert SLOW not in [m["content"] for m in model_history(reply=second)]
    assert "w1 " not in member_client.get(f"/chat/{conversation.pk}/").content.decode()

    reply_generate(message_id=second.pk)
    second.refresh_from_db()
    assert (second.status, second.content) == (Status.COMPLETE, "You said: ask this instead")


# -- reject --------------------------------------------------------------------------------------


def test_reject_refuses_the_second_message_and_saves_nothing(conversation, member, account, member_client):
    _use(account, Account.DoubleTexting.REJECT)
    message_send(conversation=conversation, user=member, content="first")
    response = member_client.post(f"/chat/{conversation.pk}/messages/", {"message": "second"}, **HTMX)
    assert response.status_code == 409
    assert "still being written" in response.content.decode()
    assert response["HX-Retarget"] == "#composer-error"  # shown under the composer, text untouched
    assert conversation.messages.count() == 2


# -- the API -------------------------------------------------------------------------------------


def test_the_api_call_overrides_the_account_setting(conversation, member, account):
    _use(account, Account.DoubleTexting.ENQUEUE)
    headers = _bearer(member)
    assert _api_send(headers, conversation, "first").status_code == 200
    refused = _api_send(headers, conversation, "second", multitask_strategy="reject")
    assert refused.status_code == 409
    assert (
        "still being written" in refused.json()["detail"] and "multitask_strategy" in refused.json()["detail"]
    )
    queued = _api_send(headers, conversation, "third")
    assert queued.status_code == 200 and queued.json()["status"] == "queued"
    assert conversation.messages.count() == 4


def test_an_unknown_strategy_is_a_400_naming_the_field(conversation, member):
    response = _api_send(_bearer(member), conversation, "hello", multitask_strategy="later")
    assert response.status_code == 400
    assert "multitask_strategy" in response.json()["errors"]
    assert not conversation.messages.exists()


# -- two messages at once ------------------------------------------------------------------------


@pytest.mark.parametrize("strategy", ["reject", "enqueue", "interrupt", "rollback"])
def test_two_messages_sent_at_once_over_the_api(conversation, member, strategy):
    headers = [_bearer(member), _bearer(member)]
    responses = _at_once(
        *[
            lambda h=h, text=text: _api_send(h, conversation, text, multitask_strategy=strategy)
            for h, text in zip(headers, ["one", "two"], strict=True)
        ]
    )
    codes = sorted(r.status_code for r in responses)
    questions = conversation.messages.filter(role=Message.Role.USER)
    replies = _replies(conversation)
    running = [r for r in replies if r.status in Message.RUNNING]
    assert len(running) == 1  # never two replies written at once in one conversation
    if strategy == "reject":
        assert codes == [200, 409]
        assert questions.count() == 1 and len(replies) == 1
    else:
        assert codes == [200, 200]
        assert questions.count() == 2
        winner, later = replies  # in the order the lock let them in
        expected = {"enqueue": Status.QUEUED, "interrupt": Status.INTERRUPTED, "rollback": Status.DISCARDED}
        if strategy == "enqueue":
            assert (winner.status, later.status) == (Status.PENDING, Status.QUEUED)
        else:
            assert (winner.status, later.status) == (expected[strategy], Status.PENDING)
        if strategy == "rollback":
            assert winner.reply_to.status == Status.DISCARDED


@pytest.mark.parametrize("strategy", ["reject", "enqueue", "interrupt", "rollback"])
def test_two_messages_sent_at_once_from_the_chat(conversation, member, account, strategy):
    _use(account, strategy)

    def post(text: str):
        client = Client()
        client.force_login(member)
        return client.post(f"/chat/{conversation.pk}/messages/", {"message": text}, **HTMX)

    responses = _at_once(lambda: post("one"), lambda: post("two"))
    codes = sorted(r.status_code for r in responses)
    replies = _replies(conversation)
    assert len([r for r in replies if r.status in Message.RUNNING]) == 1
    assert codes == ([201, 409] if strategy == "reject" else [201, 201])


def test_reject_between_two_service_calls_at_once_lets_exactly_one_in(conversation, member, account):
    _use(account, Account.DoubleTexting.REJECT)
    results = _at_once(
        lambda: message_send(conversation=conversation, user=member, content="one"),
        lambda: message_send(conversation=conversation, user=member, content="two"),
    )
    assert sum(isinstance(r, ReplyInFlight) for r in results) == 1
    assert conversation.messages.count() == 2


@pytest.mark.parametrize("strategy", ["reject", "enqueue", "interrupt", "rollback"])
def test_an_action_waiting_for_approval_is_decided_first_whatever_the_strategy(
    conversation, member, strategy
):
    _, first = message_send(conversation=conversation, user=member, content="file a ticket")
    Message.objects.filter(pk=first.pk).update(status=Status.AWAITING_APPROVAL)
    with pytest.raises(ReplyInFlight, match="Approve or deny it first"):
        message_send(conversation=conversation, user=member, content="I approve", strategy=strategy)
    first.refresh_from_db()
    assert first.status == Status.AWAITING_APPROVAL  # neither queued behind, interrupted nor discarded
    assert conversation.messages.count() == 2
