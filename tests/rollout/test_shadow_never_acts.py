"""A hidden run never acts: in the shadow (or an evaluation run) a tool that calls a live system
or changes records is recorded as what it would have done, is not run, and asks nobody for
approval; read-only tools run as usual. The Rollout page shows the intended actions.

Celery runs eagerly here, so the served reply and its shadow are written in the request."""

from __future__ import annotations

import json

import pytest

from accounts.auth import api_token_create
from agents.catalog.install import tools_install
from agents.models import AgentInstance, AgentTemplate, LiveSystemConnection, Ticket
from conversations.models import Approval, Conversation, ShadowPair, ToolCall, ToolGrant, Turn
from conversations.replies import reply_generate
from conversations.services import conversation_start, message_send
from rollout.models import Phase
from rollout.services import flag_update

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("eager_tasks")]

# Served by the legacy agent, which cannot hand off and so answers itself; in the shadow the
# assistant hands off to the fixer, which searches, then tries to act twice.
SCRIPT = (
    "@assistant: transfer fixer needs hands; say legacy answer || "
    '@fixer: tool knowledge_search {"query": "vpn outage"}; '
    'tool ticket_create {"title": "VPN down", "priority": "high"}; '
    'tool live_system_request {"method": "POST", "path": "/vpn/restart"}; say handled it'
)


@pytest.fixture
def fixer(account) -> AgentInstance:
    tools = tools_install()
    template = AgentTemplate.objects.create(slug="shadow-kind", name="Shadow kind")
    agent = AgentInstance.objects.create(account=account, template=template, slug="fixer", name="Fixer")
    agent.tools.set([tools["knowledge_search"], tools["ticket_create"], tools["live_system_request"]])
    AgentInstance.objects.get(account=account, slug="assistant").handoff_targets.set([agent])
    LiveSystemConnection.objects.create(account=account, base_url="http://live.example.test")
    return agent


def _chat(client, user, message: str):
    _, token = api_token_create(user=user, name="tests")
    return client.post(
        "/api/chat/message",
        {"message": message},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )


def test_a_shadow_run_records_its_gated_calls_and_runs_none(
    flag, account, member, fixer, client, live_calls, admin_client
):
    flag_update(
        flag=flag, account=account, actor=None, reason="compare", source="command", phase=Phase.SHADOW
    )
    body = _chat(client, member, SCRIPT).json()
    assert (body["arm"], body["reply"], body["pending_approval"]) == ("legacy", "legacy answer", None)

    pair = ShadowPair.objects.select_related("shadow_reply", "shadow__conversation").get()
    hidden = pair.shadow.conversation
    assert hidden.purpose == Conversation.Purpose.SHADOW
    # The shadow finished on its own: nothing waits for an approval nobody would see.
    assert (pair.shadow_reply.status, pair.shadow_reply.content) == ("complete", "handled it")
    assert not Approval.objects.exists()
    assert Ticket.objects.count() == 0 and live_calls == []

    calls = {c.tool_slug: c for c in ToolCall.objects.filter(conversation=hidden)}
    assert calls["knowledge_search"].status == ToolCall.Status.COMPLETED  # read-only: it ran
    ticket, live = calls["ticket_create"], calls["live_system_request"]
    assert (ticket.status, live.status) == (ToolCall.Status.SIMULATED, ToolCall.Status.SIMULATED)
    assert ticket.arguments == {"title": "VPN down", "priority": "high"}
    assert live.arguments == {"method": "POST", "path": "/vpn/restart"}
    assert ticket.result["note"] == (
        "would call ticket_create with these arguments (not executed: this is a shadow run)"
    )
    assert ticket.finished_at is not None

    # The agent was told, and went on with that as the tool's result.
    results = [m for m in pair.shadow_reply.turn.state["transcript"] if m["role"] == "tool"]
    assert [json.loads(r["content"]).get("not_executed") for r in results] == [None, None, True, True]

    # The Rollout page shows the intended actions beside the served answer.
    page = admin_client.get("/rollout/multi_agent/").content.decode()
    assert 'data-intended-tool="ticket_create"' in page and "VPN down" in page
    assert 'data-intended-tool="live_system_request"' in page and "/vpn/restart" in page
    assert 'data-intended-tool="knowledge_search"' not in page  # it ran: not an intended action
    assert "legacy answer" in page


def test_a_hidden_run_simulates_even_a_tool_allowed_for_the_conversation(account, member, fixer, live_calls):
    """An evaluation run, with a grant and a decided approval left in it: neither makes it act."""
    conversation = conversation_start(account=account, user=member, agent=fixer)
    Conversation.objects.filter(pk=conversation.pk).update(purpose=Conversation.Purpose.EVALUATION)
    conversation.refresh_from_db()
    _, earlier = message_send(conversation=conversation, user=member, content="earlier")  # answered eagerly
    earlier_call = ToolCall.objects.create(
        conversation=conversation, turn=Turn.objects.get(reply=earlier), tool_slug="ticket_create",
        idempotency_key="earlier", status=ToolCall.Status.COMPLETED,
    )  # fmt: skip
    grant_approval = Approval.objects.create(
        tool_call=earlier_call, conversation=conversation, decision=Approval.Decision.APPROVED
    )
    ToolGrant.objects.create(conversation=conversation, tool_slug="ticket_create", approval=grant_approval)

    _, reply = message_send(
        conversation=conversation, user=member, content='@fixer: tool ticket_create {"title": "Eval"}; say ok'
    )
    reply_generate(message_id=reply.pk)
    reply_generate(message_id=reply.pk)  # a redelivered task records nothing twice
    reply.refresh_from_db()
    assert (reply.status, reply.content) == ("complete", "ok")
    assert Ticket.objects.count() == 0
    call = ToolCall.objects.exclude(pk=earlier_call.pk).get()
    assert call.status == ToolCall.Status.SIMULATED
    assert call.result["note"].endswith("(not executed: this is an evaluation run)")
    assert Approval.objects.count() == 1  # only the earlier one: none was asked for
