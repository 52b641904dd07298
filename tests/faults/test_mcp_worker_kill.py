"""kill -9 of the workers in the middle of MCP calls, on a real stack (daphne, Celery workers,
beat) and a real MCP server on loopback (the SDK's server side) that holds each call open, so
the call did reach the server and its worker never learned the answer.

- A gated tool (it may act on the customer's system): the resumed turn never calls it again
  silently; it stops at "this action may or may not have run" for the owner, and when they say
  it ran, the turn completes. The server received the call exactly once.
- A read-only tool (the server annotates it so, and it is not gated): nothing to lose by asking
  again, so the resumed turn calls it again, with the same idempotency key, and completes.

Both calls are in flight at once, one on each worker of the shared two-worker stack of the
worker-kill tests; both workers are killed and two new ones started (side by side: starting a
worker takes most of the test's time), and the new workers resume both turns."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from agents.mcp.models import McpCall, McpTool
from agents.mcp.services import mcp_server_create, mcp_server_discover
from agents.models import AgentInstance, AgentTemplate
from conversations.models import Approval, Message, ToolCall
from conversations.services import conversation_start
from tests.support.faults import FaultStack
from tests.support.live import http_client, wait_for
from tests.support.mcp_server import TOKEN, McpTestServer, start_mcp_server

pytestmark = [pytest.mark.stack, pytest.mark.django_db(transaction=True)]

GENERATE_REPLY = "conversations.tasks.generate_reply"


@pytest.fixture
def mcp() -> Iterator[McpTestServer]:
    server = start_mcp_server()
    yield server
    server.stop()


def _busy_workers(stack: FaultStack) -> set[str]:
    active = stack.control.control.inspect(destination=stack.live_workers(), timeout=1).active() or {}
    return {name for name, tasks in active.items() if any(t.get("name") == GENERATE_REPLY for t in tasks)}


def _reply(conversation) -> Message:
    return Message.objects.get(conversation=conversation, role="assistant")


def _user_messages(conversation) -> list[str]:
    messages = Message.objects.filter(conversation=conversation, role="user")
    return list(messages.values_list("content", flat=True))


def test_mcp_calls_cut_off_by_kill_9_are_never_sent_twice_unless_read_only(
    scaled_stack, mcp, account, member
):
    stack = scaled_stack
    server = mcp_server_create(
        account=account, data={"slug": "orders", "name": "Orders", "url": mcp.url, "credential": TOKEN}
    )
    mcp_server_discover(server=server)
    tools = {t.name: t.tool for t in McpTool.objects.select_related("tool").filter(server=server)}
    refund, status = tools["refund_order"], tools["order_status"]
    assert refund.requires_approval and not status.acts_on_live_system  # gated; read-only
    template = AgentTemplate.objects.create(slug="clerk-kind", name="Clerk kind")
    clerk = AgentInstance.objects.create(account=account, template=template, slug="clerk", name="Clerk")
    clerk.tools.set([refund, status])
    gated = conversation_start(account=account, user=member, agent=clerk)
    looked_up = conversation_start(account=account, user=member, agent=clerk)
    client = http_client(stack.web_url(stack.web_ports[0]), member)

    # The refund waits for Approve; approved, it reaches the server and is held there.
    refund_script = (
        f'@clerk: tool {refund.slug} {{"order": "K-9", "amount": 20}}; say The refund is on its way.'
    )
    assert client.post(f"/chat/{gated.pk}/messages/", data={"message": refund_script}).status_code == 201
    approval = wait_for(lambda: Approval.objects.filter(conversation=gated).first(), 30, "no approval card")
    assert mcp.calls == []  # nothing reaches the server before Approve
    mcp.hold_next("refund_order")
    decided = client.post(f"/chat/{gated.pk}/approvals/{approval.public_id}/", data={"decision": "approve"})
    assert decided.status_code == 200
    assert mcp.wait_for_call("refund_order", 60), "the approved refund never reached the server"

    # Meanwhile the other worker looks an order up, and the server holds that call too.
    mcp.hold_next("order_status")
    status_script = f'@clerk: tool {status.slug} {{"order": "K-10"}}; say It has shipped.'
    assert client.post(f"/chat/{looked_up.pk}/messages/", data={"message": status_script}).status_code == 201
    assert mcp.wait_for_call("order_status", 60), "the lookup never reached the server"

    # Both workers are mid-call: kill -9 both, let the server answer into the void, start two new.
    busy = wait_for(
        lambda: (b := _busy_workers(stack)) == set(stack.live_workers()) and b, 30, "not both busy"
    )
    for victim in busy:
        stack.kill_worker(victim)
    mcp.release()
    stack.ensure(webs=2, workers=2, concurrency=1)

    # The gated call: held for its owner, never sent again.
    gated_reply = _reply(gated)

    def stopped_for_the_owner():
        gated_reply.refresh_from_db()
        call = ToolCall.objects.get(conversation=gated)
        return gated_reply.status == "awaiting_approval" and call.status == "uncertain" and call

    call = wait_for(stopped_for_the_owner, 60, "the resumed turn did not stop at 'may or may not have run'")
    [received] = mcp.calls_of("refund_order")
    assert received.meta["idempotency_key"] == call.idempotency_key
    assert received.arguments == {"order": "K-9", "amount": 20}
    assert "may or may not have run" in client.get(f"/chat/{gated.pk}/").text
    # The owner checked the order: the refund went through. The turn goes on without a call.
    resolved = client.post(f"/chat/{gated.pk}/tool-calls/{call.pk}/resolve/", data={"outcome": "ran"})
    assert resolved.status_code == 200

    def finished(reply: Message):
        def check() -> bool:
            reply.refresh_from_db()
            return reply.status in {"complete", "failed", "cancelled"}

        return check

    wait_for(finished(gated_reply), 60, "the gated turn never finished after the owner's answer")
    assert gated_reply.status == "complete", gated_reply.error
    assert gated_reply.content.endswith("The refund is on its way.")
    assert len(mcp.calls_of("refund_order")) == 1  # exactly once, end to end
    call.refresh_from_db()
    assert call.status == "completed" and call.resolution == "ran"
    assert _user_messages(gated) == [refund_script]  # the user's message, kept, once

    # The read-only call: asked again under the same key, and the turn completed on its own.
    status_reply = _reply(looked_up)
    wait_for(finished(status_reply), 60, "the read-only turn never finished")
    assert status_reply.status == "complete", status_reply.error
    assert status_reply.content.endswith("It has shipped.")
    lookup = ToolCall.objects.get(conversation=looked_up)
    assert lookup.status == "completed"
    assert lookup.result == {"result": {"order": "K-10", "status": "shipped", "carrier": "DHL"}}
    assert [c.meta["idempotency_key"] for c in mcp.calls_of("order_status")] == [lookup.idempotency_key] * 2
    assert McpCall.objects.get(idempotency_key=lookup.idempotency_key).outcome == "ok"
    assert _user_messages(looked_up) == [status_script]
