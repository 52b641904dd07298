"""Double texting as an open chat sees it, through the real ASGI stack and Redis channel layer:
a queued question loses its "queued" mark when its reply starts, an interrupted reply is
re-rendered marked, and a rolled-back question and reply are removed from the page."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from accounts.models import Account
from config.asgi import application
from conversations.models import Message
from conversations.services import conversation_start, message_send, reply_cancel

pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = (b"origin", b"http://testserver")


def _session_cookie(user) -> tuple[bytes, bytes]:
    client = Client()
    client.force_login(user)
    return (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())


@pytest.fixture
def first(account, member) -> tuple[Message, Message]:
    """A conversation whose first reply no worker touches: the test decides what happens to it."""
    conversation = conversation_start(account=account, user=member)
    return message_send(conversation=conversation, user=member, content="first")


async def _open_chat(conversation_id: int, member) -> WebsocketCommunicator:
    cookie = await database_sync_to_async(_session_cookie)(member)
    communicator = WebsocketCommunicator(
        application, f"/ws/conversations/{conversation_id}/", headers=[ORIGIN, cookie]
    )
    connected, _ = await communicator.connect()
    assert connected
    await communicator.receive_from(timeout=5)  # the re-sync of the latest reply
    return communicator


async def _received(communicator: WebsocketCommunicator, count: int) -> dict[str, str]:
    """The next ``count`` fragments, by the element id each one swaps."""
    fragments = [await communicator.receive_from(timeout=5) for _ in range(count)]
    return {fragment.split('id="', 1)[1].split('"', 1)[0]: fragment for fragment in fragments}


@database_sync_to_async
def _send(first_question: Message, member, strategy: str) -> tuple[Message, Message]:
    account = Account.objects.get(pk=first_question.conversation.account_id)
    account.double_texting = strategy
    account.save(update_fields=["double_texting"])
    return message_send(conversation=first_question.conversation, user=member, content="second")


async def test_a_queued_question_loses_its_mark_when_its_reply_starts(first, member):
    question, reply = first
    communicator = await _open_chat(question.conversation_id, member)
    second_q, second = await _send(question, member, Account.DoubleTexting.ENQUEUE)
    assert second.status == Message.Status.QUEUED

    await sync_to_async(reply_cancel)(reply=reply)  # the first reply ends: the queue moves on

    swapped = await _received(communicator, 3)
    assert 'data-status="cancelled"' in swapped[f"message-{reply.pk}"]
    assert "data-queued" not in swapped[f"message-{second_q.pk}"]
    assert 'data-status="pending"' in swapped[f"message-{second.pk}"]
    await communicator.disconnect()


async def test_an_interrupted_reply_is_re_rendered_marked(first, member):
    question, reply = first
    communicator = await _open_chat(question.conversation_id, member)
    await _send(question, member, Account.DoubleTexting.INTERRUPT)

    swapped = await _received(communicator, 1)
    assert 'data-status="interrupted"' in swapped[f"message-{reply.pk}"]
    assert "data-interrupted" in swapped[f"message-{reply.pk}"]
    await communicator.disconnect()


async def test_a_rolled_back_question_and_reply_are_removed_from_the_page(first, member):
    question, reply = first
    communicator = await _open_chat(question.conversation_id, member)
    await _send(question, member, Account.DoubleTexting.ROLLBACK)

    swapped = await _received(communicator, 2)
    for message in (question, reply):
        assert swapped[f"message-{message.pk}"].strip() == (
            f'<div id="message-{message.pk}" hx-swap-oob="delete"></div>'
        )
    await communicator.disconnect()
