"""The evaluation run page's socket: authorises (an admin of the run's account), joins the run's
group and sends the re-rendered progress, figures and results as an htmx out-of-band fragment."""

from __future__ import annotations

from functools import partial

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.template.loader import render_to_string

from accounts.middleware import SESSION_ACCOUNT_KEY
from accounts.selectors import membership_current
from analytics.evaluation.models import EvaluationRun
from analytics.evaluation.realtime import EvaluationProgress, evaluation_run_group
from analytics.evaluation.selectors import evaluation_run_view

db = partial(database_sync_to_async, thread_sensitive=False)


def _run_for(user, account_id: int | None, run_id: int) -> EvaluationRun | None:
    membership = membership_current(user=user, account_id=account_id) if user.is_authenticated else None
    if membership is None or not membership.is_admin:
        return None
    return (
        EvaluationRun.objects.select_related("dataset")
        .filter(account_id=membership.account_id, pk=run_id)
        .first()
    )


def _live_html(run_id: int) -> str:
    run = EvaluationRun.objects.select_related("dataset").get(pk=run_id)
    return render_to_string("analytics/evaluation/_run_live.html", {**evaluation_run_view(run), "oob": True})


class EvaluationRunConsumer(AsyncWebsocketConsumer):
    async def connect(self) -> None:
        session = self.scope.get("session")
        account_id = session.get(SESSION_ACCOUNT_KEY) if session else None
        run_id = int(self.scope["url_route"]["kwargs"]["run_id"])
        run = await db(_run_for)(self.scope["user"], account_id, run_id)
        if run is None:
            await self.close()  # before accept: the handshake is refused
            return
        self.run_id = run.pk
        self.group = evaluation_run_group(run.pk)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.send(text_data=await db(_live_html)(self.run_id))  # what moved since the page rendered

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None) -> None:
        pass

    async def evaluation_progress(self, event: EvaluationProgress) -> None:
        await self.send(text_data=await db(_live_html)(self.run_id))
