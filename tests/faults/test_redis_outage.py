"""Redis restarts (killed, down a few seconds, back empty) while a reply streams.

The worker keeps running and reconnects; the streaming reply goes on (it writes to the database,
and a frame that cannot be published is picked up by the socket's re-sync); the browser's socket
shows every word once; a message posted while Redis is down is either refused with a clear 503
that saved nothing, or saved and answered once Redis is back (its lost task message re-sent by
the recovery scan). Never a 500, never a traceback."""

from __future__ import annotations

import asyncio
import threading

import pytest

from conversations.models import Message
from conversations.services import conversation_start
from tests.support.faults import SocketView, counted_words, follow
from tests.support.live import http_client, wait_for, ws_headers

pytestmark = [pytest.mark.stack, pytest.mark.django_db(transaction=True)]

WORDS = 160
PROMPT = f"count={WORDS} delay=0.03"
DOWN_SECONDS = 3


def test_a_redis_restart_mid_stream_loses_nothing_and_the_worker_survives(make_fault_stack, account, member):
    stack = make_fault_stack(webs=1, workers=1)
    streaming = conversation_start(account=account, user=member)
    other = conversation_start(account=account, user=member)
    port = stack.web_ports[0]
    client = http_client(stack.web_url(port), member)
    during_outage: list = []
    restarted = threading.Event()

    def outage() -> None:
        stack.redis.kill()
        # A message sent while Redis is down: refused cleanly, or saved and answered later.
        during_outage.append(client.post(f"/chat/{other.pk}/messages/", data={"message": "count=5"}))
        api = http_client(stack.web_url(port), member)
        api.headers["Accept"] = "application/json"
        during_outage.append(api.get(f"/chat/{other.pk}/"))
        threading.Event().wait(DOWN_SECONDS)
        stack.redis.start()
        restarted.set()

    async def restart_mid_stream(view: SocketView) -> None:
        if not during_outage and view.frames >= 10 and not restarted.is_set():
            during_outage.append(None)  # started
            threading.Thread(target=outage, daemon=True).start()

    async def scenario() -> SocketView:
        view = SocketView()
        watcher = asyncio.create_task(
            follow(
                view,
                lambda: [f"{stack.ws_url_of(port)}/ws/conversations/{streaming.pk}/"],
                ws_headers(stack.web_url(port), client),
                on_message=restart_mid_stream,
            )
        )
        await asyncio.sleep(0.5)
        response = await asyncio.to_thread(
            client.post, f"/chat/{streaming.pk}/messages/", data={"message": PROMPT}
        )
        assert response.status_code == 201, response.text
        await watcher
        return view

    view = asyncio.run(scenario())
    assert restarted.wait(30), "Redis was never restarted mid-stream"
    worker = next(iter(stack.workers.values()))
    assert worker.poll() is None, "the Celery worker exited when Redis went away"

    reply = Message.objects.get(conversation=streaming, role="assistant")
    assert reply.status == "complete", reply.error
    assert reply.content == counted_words(WORDS)
    assert view.check_against(reply.pk, reply.content) == []
    assert view.statuses[reply.pk] == "complete"

    sent, page = during_outage[1], during_outage[2]
    # A page that needs no Redis still answers; one that does answers a 503 naming it.
    assert page.status_code in {200, 503}, (page.status_code, page.text[:300])
    assert sent.status_code in {201, 503}, (sent.status_code, sent.text[:300])
    for response in (sent, page):
        assert "Traceback" not in response.text
    if page.status_code == 503:
        assert page.json()["failing"] == ["redis"]
    questions = list(Message.objects.filter(conversation=other, role="user"))
    if sent.status_code == 503:
        assert sent.headers["Retry-After"] and "try again in a moment" in sent.text
        assert questions == []  # nothing half-saved
    else:
        # Saved while Redis was down: its reply is queued by the recovery scan once Redis is back.
        assert [q.content for q in questions] == ["count=5"]
        later = Message.objects.get(conversation=other, role="assistant")
        wait_for(lambda: later.refresh_from_db() or later.status == "complete", 60, "never answered")
        assert later.content == counted_words(5)
    # The worker reconnected: a message sent now is answered.
    third = conversation_start(account=account, user=member)
    assert client.post(f"/chat/{third.pk}/messages/", data={"message": "count=3"}).status_code == 201
    answer = Message.objects.get(conversation=third, role="assistant")
    wait_for(
        lambda: answer.refresh_from_db() or answer.status == "complete", 60, "no answer after the restart"
    )
    assert answer.content == counted_words(3)
