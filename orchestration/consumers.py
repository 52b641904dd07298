"""Sockets of the Runs pages: each authorises, joins a group and forwards its events as
htmx out-of-band fragments. The browser never sends on them."""

from __future__ import annotations

from functools import partial

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.template.loader import render_to_string

from accounts.middleware import SESSION_ACCOUNT_KEY
from orchestration.realtime import RunEvent, account_runs_group, run_group
from orchestration.selectors import (
    membership_for_socket,
    run_find,
    run_statistics,
    runs_visible_to,
)

# Off the shared thread, as in conversations.consumers.
db = partial(database_sync_to_async, thread_sensitive=False)


def _session_account_id(scope) -> int | None:
    session = scope.get("session")
    return session.get(SESSION_ACCOUNT_KEY) if session else None


def _row_html(membership, run_id: int, known: set[int], resync: bool = False) -> str:
    # The account's group hears of every run; a member's page shows only the runs they may see.
    run = runs_visible_to(membership=membership).filter(pk=run_id).first()
    if run is None:
        return ""
    html = render_to_string("orchestration/_run_row.html", {"run": run, "oob": run_id in known})
    if run_id not in known:
        known.add(run_id)
        # A run this page has not shown yet goes on top of the list.
        html = f'<div hx-swap-oob="afterbegin:#run-rows">{html}</div>'
    if run.is_final and not resync:
        # A run that ends changes the statistics above the list.
        stats = run_statistics(membership=membership)
        html += render_to_string("orchestration/_statistics.html", {"stats": stats, "oob": True})
    return html


class RunListConsumer(AsyncWebsocketConsumer):
    """The Runs page: the runs of the user's current account that they may see."""

    async def connect(self) -> None:
        membership = await db(membership_for_socket)(
            user=self.scope["user"], account_id=_session_account_id(self.scope)
        )
        if membership is None:
            await self.close()
            return
        self.membership = membership
        self.group = account_runs_group(membership.account_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        # Re-sync what may have moved between the page's render and this socket.
        self.known: set[int] = set(
            await db(lambda: list(runs_visible_to(membership=membership).values_list("pk", flat=True)[:50]))()
        )
        for run_id in sorted(self.known):
            html = await db(_row_html)(membership, run_id, self.known, resync=True)
            if html:
                await self.send(text_data=html)

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None) -> None:
        pass

    async def run_changed(self, event: RunEvent) -> None:
        html = await db(_row_html)(self.membership, event["run_id"], self.known)
        if html:
            await self.send(text_data=html)


class RunConsumer(AsyncWebsocketConsumer):
    """One run's page: its tasks, votes and result."""

    async def connect(self) -> None:
        membership = await db(membership_for_socket)(
            user=self.scope["user"], account_id=_session_account_id(self.scope)
        )
        run_id = int(self.scope["url_route"]["kwargs"]["run_id"])
        run = await db(run_find)(membership=membership, pk=run_id) if membership else None
        if run is None:
            await self.close()  # before accept: the handshake is refused
            return
        self.membership = membership
        self.run_id = run.pk
        self.group = run_group(run.pk)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self._send_run()

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None) -> None:
        pass

    async def run_changed(self, event: RunEvent) -> None:
        await self._send_run()

    async def _send_run(self) -> None:
        run = await db(run_find)(membership=self.membership, pk=self.run_id)
        if run is not None:
            html = await db(render_to_string)("orchestration/_run_detail.html", {"run": run, "oob": True})
            await self.send(text_data=html)
