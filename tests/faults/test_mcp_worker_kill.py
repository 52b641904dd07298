"""kill -9 of the worker in the middle of an MCP call, on a real stack (daphne, Celery workers,
beat) and a real MCP server on loopback (the SDK's server side) that holds the call open, so the
call did reach the server and the worker never learned the answer.

- A gated tool (it may act on the customer's system): the resumed turn never calls it again
  silently; it stops at "this action may or may not have run" for the owner, and when they say
  it ran, the turn completes. The server received the call exactly once.
- A read-only tool (the server annotates it so, and it is not gated): nothing to lose by asking
  again, so the resumed turn calls it again, with the same idempotency key, and completes.

The shared two-worker stack of the worker-kill tests is used (starting one takes most of a
minute); a worker is started in the killed one's place at once, and the turn is resumed by
whichever worker takes it once the dead one's lease runs out."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from agents.mcp.models import McpCall, McpServer, McpTool
from agents.mcp.services import mcp_server_create, mcp_server_discover
from agents.models import AgentInstance, AgentTemplate
from conversations.models import Approval, Message, ToolCall
from conversations.services import conversation_start
from tests.support.faults import FaultStack
from tests.support.live import http_client, wait_for
from tests.support.mcp_server import TOKEN, McpTestServer, start_mcp_server

pytestmark = [pytest.mark.stack, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def mcp() -> Iterator[McpTestServer]:
    server = start_mcp_server()
    yield server
    server.stop()


def _conversation(account, member, mcp: McpTestServer, tool_name: str):
    server = mcp_server_create(
        account=account, data={"slug": "orders", "name": "Orders", "url": mcp.url, "credential": TOKEN}
    )
    mcp_server_discover(server=server)
    tool = McpTool.objects.select_related("tool").get(server=server, name=tool_name).tool
    template = AgentTemplate.objects.create(slug="clerk-kind", name="Clerk kind")
    clerk = AgentInstance.objects.create(account=account, template=template, slug="clerk", name="Clerk")
    clerk.tools.set([tool])
    return conversation_start(account=account, user=member, agent=clerk), tool


def _kill_the_worker_mid_call(stack: FaultStack, mcp: McpTestServer, tool_name: str) -> str:
    """Once the call has reached the server (and is held there), kill -9 the worker making it,
    let the server finish (its answer goes nowhere) and start a worker in the dead one's place;
    returns its name (``stack.wait_worker`` it before the test ends)."""
    assert mcp.wait_for_call(tool_name, 60), f"{tool_name} was never called"
    victim = wait_for(stack.busy_worker, 30, "no worker is running the reply")
    stack.kill_worker(victim)
    mcp.release()
    return stack.spawn_worker(concurrency=1)


def _user_messages(conversation) -> list[str]:
    messages = Message.objects.filter(conversation=conversation, role="user")
    return list(messages.values_list("content", flat=True))


def test_a_gated_mcp_call_cut_off_by_kill_9_is_never_sent_twice(scaled_stack, mcp, account, member):
    stack = scaled_stack
    conversation, refund = _conversation(account, member, mcp, "refund_order")
    script = f'@clerk: tool {refund.slug} {{"order": "K-9", "amount": 20}}; say The refund is on its way.'
    client = http_client(stack.web_url(stack.web_ports[0]), member)
    assert client.post(f"/chat/{conversation.pk}/messages/", data={"message": script}).status_code == 201
    approval = wait_for(lambda: Approval.objects.filter(conversation=conversation).first(), 30, "no card")
    assert mcp.calls == []  # nothing reaches the server before Approve
    mcp.hold_next("refund_order")
    decided = client.post(
        f"/chat/{conversation.pk}/approvals/{approval.public_id}/", data={"decision": "approve"}
    )
    assert decided.status_code == 200

    replacement = _kill_the_worker_mid_call(stack, mcp, "refund_order")

    reply = Message.objects.get(conversation=conversation, role="assistant")

    def stopped_for_the_owner():
        reply.refresh_from_db()
        return reply.status == "awaiting_approval" and ToolCall.objects.get().status == "uncertain"

    wait_for(stopped_for_the_owner, 60, "the resumed turn did not stop at 'may or may not have run'")
    call = ToolCall.objects.get()
    [received] = mcp.calls_of("refund_order")  # resumed, and not called again
    assert received.meta["idempotency_key"] == call.idempotency_key
    assert received.arguments == {"order": "K-9", "amount": 20}
    page = client.get(f"/chat/{conversation.pk}/")
    assert "may or may not have run" in page.text

    # The owner checked the order: the refund went through. The turn goes on without a call.
    resolved = client.post(f"/chat/{conversation.pk}/tool-calls/{call.pk}/resolve/", data={"outcome": "ran"})
    assert resolved.status_code == 200

    def finished():
        reply.refresh_from_db()
        return reply.status in {"complete", "failed"}

    wait_for(finished, 60, "the turn never finished after the owner's answer")
    assert reply.status == "complete", reply.error
    assert reply.content.endswith("The refund is on its way.")
    assert len(mcp.calls_of("refund_order")) == 1
    call.refresh_from_db()
    assert call.status == "completed" and call.resolution == "ran"
    assert _user_messages(conversation) == [script]  # the user's message, kept, once
    stack.wait_worker(replacement)


def test_a_read_only_mcp_call_cut_off_by_kill_9_is_asked_again_and_the_turn_completes(
    scaled_stack, mcp, account, member
):
    stack = scaled_stack
    conversation, status = _conversation(account, member, mcp, "order_status")
    assert not status.acts_on_live_system  # annotated read-only by the server: no approval
    script = f'@clerk: tool {status.slug} {{"order": "K-10"}}; say It has shipped.'
    mcp.hold_next("order_status")
    client = http_client(stack.web_url(stack.web_ports[0]), member)
    assert client.post(f"/chat/{conversation.pk}/messages/", data={"message": script}).status_code == 201

    replacement = _kill_the_worker_mid_call(stack, mcp, "order_status")

    reply = Message.objects.get(conversation=conversation, role="assistant")

    def finished():
        reply.refresh_from_db()
        return reply.status in {"complete", "failed", "awaiting_approval"}

    wait_for(finished, 60, "the resumed turn never finished")
    assert reply.status == "complete", reply.error
    assert reply.content.endswith("It has shipped.")
    call = ToolCall.objects.get()
    assert call.status == "completed"
    assert call.result == {"result": {"order": "K-10", "status": "shipped", "carrier": "DHL"}}
    # Asked twice, both times under the call's one key; the second answer is the one recorded.
    keys = [c.meta["idempotency_key"] for c in mcp.calls_of("order_status")]
    assert keys == [call.idempotency_key] * 2
    assert McpCall.objects.get().outcome == "ok"
    assert McpServer.objects.get().health == "healthy"
    assert _user_messages(conversation) == [script]
    stack.wait_worker(replacement)
