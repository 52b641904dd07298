"""The conversation socket, through the real ASGI stack and the real Redis channel layer."""

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from config.asgi import application
from conversations.models import Message
from conversations.realtime import frame_event, message_event, publish
from conversations.services import conversation_start
from conversations.streaming import StreamCursor

pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = (b"origin", b"http://testserver")


def _session_cookie(user) -> tuple[bytes, bytes]:
    client = Client()
    client.force_login(user)
    return (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())


def _communicator(conversation_id: int, *headers: tuple[bytes, bytes]) -> WebsocketCommunicator:
    return WebsocketCommunicator(application, f"/ws/conversations/{conversation_id}/", headers=list(headers))


@database_sync_to_async
def _update(message: Message, **fields) -> None:
    # database_sync_to_async closes the thread's connection afterwards; the async ORM would not.
    Message.objects.filter(pk=message.pk).update(**fields)


@pytest.fixture
def chat(account, member):
    """A conversation with a reply that no worker will touch: the test drives the events."""
    conversation = conversation_start(account=account, user=member)
    question = Message.objects.create(conversation=conversation, role="user", content="hello")
    reply = Message.objects.create(
        conversation=conversation, role="assistant", status="pending", reply_to=question
    )
    return conversation, reply


async def test_an_anonymous_socket_is_refused(chat):
    conversation, _ = chat
    connected, _ = await _communicator(conversation.pk, ORIGIN).connect()
    assert not connected


async def test_a_socket_from_another_account_is_refused(chat, outsider):
    conversation, _ = chat
    cookie = await database_sync_to_async(_session_cookie)(outsider)
    connected, _ = await _communicator(conversation.pk, ORIGIN, cookie).connect()
    assert not connected


async def test_a_socket_from_a_foreign_origin_is_refused(chat, member):
    conversation, _ = chat
    cookie = await database_sync_to_async(_session_cookie)(member)
    connected, _ = await _communicator(conversation.pk, (b"origin", b"http://evil.example"), cookie).connect()
    assert not connected


async def test_a_socket_for_a_conversation_that_does_not_exist_is_refused(member):
    cookie = await database_sync_to_async(_session_cookie)(member)
    connected, _ = await _communicator(999999, ORIGIN, cookie).connect()
    assert not connected


async def test_the_owner_connects_resyncs_and_receives_frames_in_order(chat, member):
    conversation, reply = chat
    cookie = await database_sync_to_async(_session_cookie)(member)
    communicator = _communicator(conversation.pk, ORIGIN, cookie)
    connected, _ = await communicator.connect()
    assert connected
    resync = await communicator.receive_from(timeout=5)
    assert f'id="message-{reply.pk}"' in resync and 'hx-swap-oob="outerHTML"' in resync

    texts = ["Hello", ", wor", "ld <b>"]
    start = 0
    for seq, text in enumerate(texts, 1):
        await sync_to_async(publish)(
            conversation.pk, frame_event(message_id=reply.pk, seq=seq, start=start, text=text)
        )
        start += len(text)
    received = [await communicator.receive_from(timeout=5) for _ in texts]
    assert [f'data-seq="{i}"' in frame for i, frame in enumerate(received, 1)] == [True] * 3
    assert f'hx-swap-oob="beforeend:#message-{reply.pk}-text"' in received[0]
    assert "&lt;b&gt;" in received[2]  # streamed text is escaped, never HTML
    await communicator.disconnect()


async def test_text_already_shown_after_a_resync_is_not_sent_twice(chat, member):
    conversation, reply = chat
    await _update(reply, status=Message.Status.STREAMING, content="Hello")
    cookie = await database_sync_to_async(_session_cookie)(member)
    communicator = _communicator(conversation.pk, ORIGIN, cookie)
    await communicator.connect()
    resync = await communicator.receive_from(timeout=5)
    assert ">Hello</div>" in resync
    # A frame published before the socket read the database arrives after the re-sync.
    await sync_to_async(publish)(
        conversation.pk, frame_event(message_id=reply.pk, seq=1, start=0, text="Hello")
    )
    await sync_to_async(publish)(
        conversation.pk, frame_event(message_id=reply.pk, seq=2, start=5, text=" you")
    )
    frame = await communicator.receive_from(timeout=5)
    assert ">" + " you" + "</span>" in frame
    assert await communicator.receive_nothing(timeout=0.3)
    await communicator.disconnect()


async def test_a_finished_message_is_re_rendered_whole(chat, member):
    conversation, reply = chat
    cookie = await database_sync_to_async(_session_cookie)(member)
    communicator = _communicator(conversation.pk, ORIGIN, cookie)
    await communicator.connect()
    await communicator.receive_from(timeout=5)
    await _update(reply, status=Message.Status.COMPLETE, content="**done**")
    await sync_to_async(publish)(conversation.pk, message_event(message_id=reply.pk))
    html = await communicator.receive_from(timeout=5)
    assert 'data-status="complete"' in html and "<strong>done</strong>" in html
    await communicator.disconnect()


def test_cursor_drops_known_text_trims_overlaps_and_flags_gaps():
    cursor = StreamCursor()
    assert cursor.new_text(1, 0, "abc") is None  # never rendered: re-render instead
    cursor.rendered(1, 3)
    assert cursor.new_text(1, 0, "abc") == ""
    assert cursor.new_text(1, 2, "cde") == "de"
    assert cursor.new_text(1, 5, "f") == "f"
    assert cursor.new_text(1, 9, "x") is None  # a gap
