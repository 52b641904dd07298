"""kill -9 of the worker writing a reply, with a second worker running: the survivor takes the
reply over once the dead worker's lease runs out (beat's recovery scan re-sends it), the browser's
socket shows every word once, and nothing the user sent is lost.

(kill -9 in the middle of a tool call, and that the tool is not called a second time, is covered
by tests/faults/test_tool_effects.py.)"""

from __future__ import annotations

import asyncio

import pytest

from conversations.models import Message, ToolCall
from conversations.services import conversation_start
from tests.support.faults import SocketView, counted_words, follow
from tests.support.live import http_client, ws_headers

pytestmark = [pytest.mark.stack, pytest.mark.django_db(transaction=True)]

WORDS = 150
PROMPT = f"count={WORDS} delay=0.03"


def test_a_reply_survives_kill_9_of_its_worker_and_streams_each_word_once(scaled_stack, account, member):
    stack = scaled_stack
    conversation = conversation_start(account=account, user=member)
    port = stack.web_ports[0]
    client = http_client(stack.web_url(port), member)
    killed: list[str] = []

    async def kill_mid_stream(view: SocketView) -> None:
        if killed or view.frames < 10:
            return
        victim = await asyncio.to_thread(stack.busy_worker)
        if victim is not None:
            killed.append(victim)
            await asyncio.to_thread(stack.kill_worker, victim)

    async def scenario() -> SocketView:
        view = SocketView()
        watcher = asyncio.create_task(
            follow(
                view,
                lambda: [f"{stack.ws_url_of(port)}/ws/conversations/{conversation.pk}/"],
                ws_headers(stack.web_url(port), client),
                on_message=kill_mid_stream,
            )
        )
        await asyncio.sleep(0.5)  # the socket is open before the message is sent
        response = await asyncio.to_thread(
            client.post, f"/chat/{conversation.pk}/messages/", data={"message": PROMPT}
        )
        assert response.status_code == 201, response.text
        await watcher
        return view

    view = asyncio.run(scenario())
    assert killed, "no worker was killed mid-stream"

    reply = Message.objects.get(conversation=conversation, role="assistant")
    assert reply.status == "complete", reply.error  # finished, by the surviving worker
    assert reply.content == counted_words(WORDS)  # every word once in the database
    assert reply.interruptions == 1 and reply.attempts == 2
    assert view.check_against(reply.pk, reply.content) == []  # and on the socket
    assert view.statuses[reply.pk] == "complete"
    assert list(
        Message.objects.filter(conversation=conversation, role="user").values_list("content", flat=True)
    ) == [PROMPT]  # the user's message, once
    assert not ToolCall.objects.filter(conversation=conversation).exists()  # no effect was set off
