from __future__ import annotations

from functools import partial
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.template.loader import render_to_string

from accounts.middleware import SESSION_ACCOUNT_KEY
from escalations.realtime import EscalationEvent, operators_group
from escalations.selectors import operator_account_for_socket

db = partial(database_sync_to_async, thread_sensitive=False)


class EscalationQueueConsumer(AsyncWebsocketConsumer):
    """The operator queue's socket: only an operator or admin of the current account may
    connect; it joins that account's group and forwards each change as a fragment that
    makes the page refresh what it shows (its filtered list, or the open escalation, whose
    id the detail page gives in the socket's query string)."""

    async def connect(self) -> None:
        session = self.scope.get("session")
        account_id = await db(operator_account_for_socket)(
            user=self.scope["user"], account_id=session.get(SESSION_ACCOUNT_KEY) if session else None
        )
        if account_id is None:
            await self.close()  # before accept: the handshake is refused
            return
        # The detail page connects with ?escalation=<id>: it is told about that escalation only,
        # the queue page about every one (each gets a fragment whose target it has).
        query = parse_qs(self.scope.get("query_string", b"").decode())
        raw = (query.get("escalation") or [""])[0]
        self.escalation_id = int(raw) if raw.isdigit() else None
        self.group = operators_group(account_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None) -> None:
        pass  # actions go over HTTP, where errors have a status code

    async def escalation_changed(self, event: EscalationEvent) -> None:
        if self.escalation_id is not None and event["escalation_id"] != self.escalation_id:
            return
        context = {"escalation_id": event["escalation_id"], "detail_id": self.escalation_id}
        html = render_to_string("escalations/_live.html", context)
        await self.send(text_data=html)
