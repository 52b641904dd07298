"""kill -9 of the web process holding the browser's socket in the middle of a reply: the socket
reconnects to the other web process (as through a load balancer), which re-renders the reply so
far and streams the rest; the reply completes once, with no text shown twice."""

from __future__ import annotations

import asyncio

import pytest

from conversations.models import Message, ToolCall
from conversations.services import conversation_start
from tests.support.faults import SocketView, counted_words, follow
from tests.support.live import http_client, ws_headers

pytestmark = [pytest.mark.stack, pytest.mark.django_db(transaction=True)]

WORDS = 200
PROMPT = f"count={WORDS} delay=0.02"


def test_the_socket_moves_to_the_other_web_process_and_the_reply_completes_once(
    scaled_stack, account, member
):
    stack = scaled_stack
    doomed, survivor = stack.web_ports
    conversation = conversation_start(account=account, user=member)
    client = http_client(stack.web_url(doomed), member)
    path = f"/ws/conversations/{conversation.pk}/"
    killed: list[int] = []

    def live_addresses() -> list[str]:
        return [f"{stack.ws_url_of(port)}{path}" for port in stack.web_ports if port in stack.webs]

    async def kill_mid_stream(view: SocketView) -> None:
        if not killed and view.frames >= 10:
            killed.append(doomed)
            await asyncio.to_thread(stack.kill_web, doomed)

    async def scenario() -> tuple[SocketView, int]:
        view = SocketView()
        headers = ws_headers(stack.web_url(doomed), client)
        watcher = asyncio.create_task(follow(view, live_addresses, headers, on_message=kill_mid_stream))
        await asyncio.sleep(0.5)  # the socket is open (on the doomed process) before the message is sent
        response = await asyncio.to_thread(
            client.post, f"/chat/{conversation.pk}/messages/", data={"message": PROMPT}
        )
        assert response.status_code == 201, response.text
        return view, await watcher

    view, reconnects = asyncio.run(scenario())
    assert killed and reconnects == 1  # the socket dropped once and came back on the survivor

    reply = Message.objects.get(conversation=conversation, role="assistant")
    assert (reply.status, reply.content) == ("complete", counted_words(WORDS))
    assert reply.attempts == 1  # the worker never noticed: a web process holds no work
    assert view.statuses[reply.pk] == "complete"
    assert view.check_against(reply.pk, reply.content) == []  # nothing doubled across the reconnect
    user_messages = Message.objects.filter(conversation=conversation, role="user")
    assert list(user_messages.values_list("content", flat=True)) == [PROMPT]
    assert not ToolCall.objects.filter(conversation=conversation).exists()

    # The page itself, loaded from the surviving process, shows the same finished reply.
    page = http_client(stack.web_url(survivor), member).get(f"/chat/{conversation.pk}/").text
    assert 'data-status="complete"' in page and f"w{WORDS}" in page
