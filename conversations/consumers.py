from __future__ import annotations

from functools import partial

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.template.loader import render_to_string

from accounts.middleware import SESSION_ACCOUNT_KEY
from conversations.models import Message
from conversations.realtime import FrameEvent, MessageAddedEvent, MessageEvent, conversation_group
from conversations.selectors import (
    conversation_for_socket,
    message_in_conversation,
    message_latest_reply,
)
from conversations.streaming import StreamCursor

# Off the shared thread: database_sync_to_async defaults to one thread per process for
# every socket (Django gives only HTTP requests their own), which queued every socket's
# re-render behind the others under load.
db = partial(database_sync_to_async, thread_sensitive=False)


class ConversationConsumer(AsyncWebsocketConsumer):
    """Authorises the socket, joins the conversation's group and forwards its
    events as htmx out-of-band fragments. The browser never sends on it."""

    async def connect(self) -> None:
        session = self.scope.get("session")
        conversation = await db(conversation_for_socket)(
            user=self.scope["user"],
            account_id=session.get(SESSION_ACCOUNT_KEY) if session else None,
            pk=int(self.scope["url_route"]["kwargs"]["conversation_id"]),
        )
        if conversation is None:
            await self.close()  # before accept: the handshake is refused
            return
        self.conversation_id = conversation.pk
        self.group = conversation_group(conversation.pk)
        self.cursor = StreamCursor()
        # Join first, then read: anything published after the read arrives as an event.
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        latest = await db(message_latest_reply)(conversation_id=conversation.pk)
        if latest is not None:
            await self._send_message(latest)

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None) -> None:
        pass  # messages are sent over HTTP, where validation errors have a status code

    async def chat_frame(self, event: FrameEvent) -> None:
        text = self.cursor.new_text(event["message_id"], event["start"], event["text"])
        if text is None:
            await self._rerender(event["message_id"])
        elif text:
            await self.send(
                text_data=render_to_string(
                    "conversations/_message_frame.html",
                    {"message_id": event["message_id"], "seq": event["seq"], "text": text},
                )
            )

    async def chat_message(self, event: MessageEvent) -> None:
        await self._rerender(event["message_id"])

    async def chat_message_added(self, event: MessageAddedEvent) -> None:
        message_id = event["message_id"]
        message = await db(message_in_conversation)(conversation_id=self.conversation_id, pk=message_id)
        if message is not None:
            self.cursor.rendered(message.pk, len(message.content))
            html = await db(render_to_string)("conversations/_message_added.html", {"message": message})
            await self.send(text_data=html)

    async def _rerender(self, message_id: int) -> None:
        message = await db(message_in_conversation)(conversation_id=self.conversation_id, pk=message_id)
        if message is not None:
            await self._send_message(message)

    async def _send_message(self, message: Message) -> None:
        self.cursor.rendered(message.pk, len(message.content))
        html = await db(render_to_string)("conversations/_message.html", {"message": message, "oob": True})
        await self.send(text_data=html)
