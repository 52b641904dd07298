"""Tools from a real MCP server (the SDK's server side, streamable HTTP on loopback) under the
same guard rails as the built-in tools: discovery, the allowlist, the approval gate, one call per
idempotency key, tool errors, a server that is down, and the credential kept secret."""

import logging
from datetime import timedelta

import pytest
from django.utils import timezone

from agents.mcp.models import McpCall, McpServer, McpTool
from agents.mcp.selectors import mcp_server_figures
from agents.mcp.services import (
    McpServerUnavailable,
    mcp_calls_close_interrupted,
    mcp_server_create,
    mcp_server_discover,
    mcp_servers_check_health,
    mcp_tool_set_gate,
)
from agents.models import AgentInstance, AgentTemplate
from agents.runtime import toolbox
from agents.tools.builtin import ToolFailed
from agents.tools.registry import ToolContext
from conversations.models import Approval, GuardrailEvent, Message, ToolCall
from conversations.replies import reply_generate
from conversations.services import approval_decide, conversation_start, message_send
from tests.support.mcp_server import TOKEN, McpTestServer, start_mcp_server

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def mcp():
    server = start_mcp_server()
    yield server
    server.stop()


@pytest.fixture
def registered(account, mcp) -> McpServer:
    server = mcp_server_create(
        account=account, data={"slug": "orders", "name": "Orders", "url": mcp.url, "credential": TOKEN}
    )
    mcp_server_discover(server=server)
    return server


def _tool(server: McpServer, name: str):
    return McpTool.objects.select_related("tool").get(server=server, name=name).tool


@pytest.fixture
def make_agent(account):
    template = AgentTemplate.objects.create(slug="test-kind", name="Test kind")

    def make(slug: str, tools=()) -> AgentInstance:
        agent = AgentInstance.objects.create(
            account=account, template=template, slug=slug, name=slug.title(), system_prompt=f"You are {slug}."
        )
        agent.tools.set(tools)
        return agent

    return make


def _turn(account, member, agent, script: str) -> Message:
    conversation = conversation_start(account=account, user=member)
    conversation.agent = agent
    conversation.save()
    _, reply = message_send(conversation=conversation, user=member, content=script)
    reply_generate(message_id=reply.pk)
    reply.refresh_from_db()
    return reply


def test_discovery_makes_each_tool_a_registry_tool_gated_unless_read_only(registered):
    tools = {t.name: t for t in McpTool.objects.select_related("tool").filter(server=registered)}
    assert set(tools) == {"order_status", "refund_order"}
    status, refund = tools["order_status"].tool, tools["refund_order"].tool
    assert status.slug == f"orders_{registered.pk}__order_status" and status.handler == "mcp"
    assert status.args_schema["properties"]["order"]["type"] == "string"
    assert set(refund.args_schema["required"]) == {"order", "amount"}
    assert status.acts_on_live_system is False  # the server annotates it read-only
    assert refund.acts_on_live_system is True and refund.requires_approval
    registered.refresh_from_db()
    assert registered.health == "healthy" and registered.discovered_at is not None


def test_an_allowlisted_call_reaches_the_server_once_with_its_idempotency_key(
    account, member, registered, mcp, make_agent
):
    slug = _tool(registered, "order_status").slug
    agent = make_agent("clerk", [_tool(registered, "order_status")])
    reply = _turn(account, member, agent, f'@clerk: tool {slug} {{"order": "A-17"}}; say looked it up')
    assert reply.status == "complete" and reply.content == "looked it up"
    [received] = mcp.calls_of("order_status")
    call = ToolCall.objects.get()
    assert call.status == "completed"
    assert call.result == {"result": {"order": "A-17", "status": "shipped", "carrier": "DHL"}}
    assert received.arguments == {"order": "A-17"}
    assert received.meta["idempotency_key"] == call.idempotency_key
    # A stateless server is not told who is calling.
    assert "account" not in received.meta and "x-mcp-account" not in received.headers
    record = McpCall.objects.get()
    assert (record.outcome, record.idempotency_key) == ("ok", call.idempotency_key)
    assert record.duration_ms is not None and record.agent_id == agent.pk


def test_a_stateful_server_receives_the_account_with_each_call(account, member, registered, mcp, make_agent):
    McpServer.objects.filter(pk=registered.pk).update(stateful=True)
    slug = _tool(registered, "order_status").slug
    agent = make_agent("clerk", [_tool(registered, "order_status")])
    _turn(account, member, agent, f'@clerk: tool {slug} {{"order": "A-17"}}; say ok')
    [received] = mcp.calls_of("order_status")
    assert received.meta["account"] == account.slug
    assert received.headers["x-mcp-account"] == account.slug
    assert received.meta["agent_instance"] == agent.pk
    assert received.headers["x-mcp-agent-instance"] == str(agent.pk)


def test_a_tool_off_the_allowlist_is_refused_and_never_reaches_the_server(
    account, member, registered, mcp, make_agent
):
    refund = _tool(registered, "refund_order")
    agent = make_agent("clerk", [_tool(registered, "order_status")])
    reply = _turn(
        account, member, agent, f'@clerk: tool {refund.slug} {{"order": "A-17", "amount": 5}}; say could not'
    )
    assert reply.status == "complete" and reply.content == "could not"
    assert ToolCall.objects.get().status == "refused"
    assert GuardrailEvent.objects.get().kind == "tool_refused"
    assert mcp.calls == [] and not McpCall.objects.exists()


def test_a_gated_call_waits_for_approve_then_reaches_the_server_once(
    account, member, registered, mcp, make_agent
):
    refund = _tool(registered, "refund_order")
    agent = make_agent("clerk", [refund])
    script = f'@clerk: tool {refund.slug} {{"order": "A-17", "amount": 12.5}}; say refunded'
    reply = _turn(account, member, agent, script)
    assert reply.status == "awaiting_approval"
    assert mcp.calls == []
    approval_decide(approval=Approval.objects.get(), user=member, approve=True)
    reply_generate(message_id=reply.pk)
    reply_generate(message_id=reply.pk)  # a redelivered task changes nothing
    reply.refresh_from_db()
    assert reply.status == "complete" and reply.content == "refunded"
    assert [c.arguments for c in mcp.calls_of("refund_order")] == [{"order": "A-17", "amount": 12.5}]
    assert ToolCall.objects.get().result == {"result": "refunded 12.50 on A-17"}


def test_a_call_repeated_under_its_key_is_answered_from_its_record(account, registered, mcp):
    """What a resumed turn does with a call whose worker died after the server answered but
    before the turn's checkpoint: the same key runs the tool again, which must not reach the
    server a second time."""
    refund = _tool(registered, "refund_order")
    ctx = ToolContext(
        account_id=account.pk, conversation_id=None, user_id=None, idempotency_key="reply9:step1:call0"
    )
    first = toolbox.run_tool(refund, {"order": "B-2", "amount": 3.0}, ctx)
    again = toolbox.run_tool(refund, {"order": "B-2", "amount": 3.0}, ctx)
    assert first == again == (True, {"result": "refunded 3.00 on B-2"})
    assert len(mcp.calls_of("refund_order")) == 1


def test_only_a_read_only_ungated_tool_is_asked_again_after_its_worker_died(registered):
    """What a resumed turn may do with a call whose worker died mid-call: ask a read-only tool
    again; hold any other at "may or may not have run" (tests/faults/test_mcp_worker_kill.py)."""
    status = McpTool.objects.select_related("tool").get(server=registered, name="order_status")
    refund = McpTool.objects.select_related("tool").get(server=registered, name="refund_order")
    assert toolbox.rerun_is_safe(status.tool) and not toolbox.rerun_is_safe(refund.tool)
    # An admin's gate makes a call external whatever the server says...
    assert not toolbox.rerun_is_safe(mcp_tool_set_gate(mcp_tool=status, acts_on_live_system=True).tool)
    # ...and lifting the gate of a tool the server did not call read-only does not make it so.
    assert not toolbox.rerun_is_safe(mcp_tool_set_gate(mcp_tool=refund, acts_on_live_system=False).tool)


def test_a_tool_error_is_returned_to_the_agent_and_the_turn_goes_on(
    account, member, registered, mcp, make_agent
):
    slug = _tool(registered, "order_status").slug
    agent = make_agent("clerk", [_tool(registered, "order_status")])
    reply = _turn(account, member, agent, f'@clerk: tool {slug} {{"order": "missing"}}; say sorry')
    assert reply.status == "complete" and reply.content == "sorry"
    call = ToolCall.objects.get()
    assert call.status == "failed" and "there is no order missing" in call.error
    assert McpCall.objects.get().outcome == "tool_error"


def test_a_server_that_is_down_has_its_tools_withheld_and_healthz_names_it(
    account, member, registered, mcp, make_agent, client, admin_user
):
    status = _tool(registered, "order_status")
    agent = make_agent("clerk", [status])
    assert [s["function"]["name"] for s in toolbox.specs_for(agent, [])] == [status.slug]
    mcp.stop()
    assert mcp_servers_check_health() == {registered.pk: False}
    registered.refresh_from_db()
    assert registered.health == "unhealthy" and registered.last_error
    assert toolbox.specs_for(agent, []) == []  # withheld from the model
    public = client.get("/healthz").json()
    assert public["degraded"] == ["mcp:account-server"]  # an account's server is not named in public
    client.force_login(admin_user)
    detailed = client.get("/healthz").json()
    assert f"mcp:{account.slug}/orders" in detailed["degraded"]
    assert f"{account.slug}/orders" in detailed["mcp_servers"]
    # A call made anyway (a resumed turn) is a tool error, not a crash.
    ctx = ToolContext(account_id=account.pk, conversation_id=None, user_id=None, idempotency_key="k-down")
    ok, error = toolbox.run_tool(status, {"order": "A-1"}, ctx)
    assert not ok and "unavailable" in error

    back = McpTestServer(port=mcp.port).start()
    try:
        assert mcp_servers_check_health() == {registered.pk: True}
        assert [s["function"]["name"] for s in toolbox.specs_for(agent, [])] == [status.slug]
        assert "degraded" not in client.get("/healthz").json()
    finally:
        back.stop()


def test_a_server_that_stops_mid_conversation_gives_a_tool_error_and_is_marked_down(account, registered, mcp):
    status = _tool(registered, "order_status")
    mcp.stop()
    ctx = ToolContext(account_id=account.pk, conversation_id=None, user_id=None, idempotency_key="k-gone")
    ok, error = toolbox.run_tool(status, {"order": "A-1"}, ctx)
    assert not ok and "could not reach Orders" in error
    registered.refresh_from_db()
    assert registered.health == "unhealthy"
    assert McpCall.objects.get().outcome == "unreachable"


def test_a_wrong_credential_is_an_error_that_never_shows_the_credential(account, mcp, caplog):
    caplog.set_level(logging.DEBUG)
    server = mcp_server_create(
        account=account, data={"slug": "bad", "name": "Bad", "url": mcp.url, "credential": "wrong-" + TOKEN}
    )
    with pytest.raises(McpServerUnavailable):
        mcp_server_discover(server=server)
    server.refresh_from_db()
    assert server.health == "unhealthy"
    assert TOKEN not in server.credential_encrypted and TOKEN not in server.last_error
    assert TOKEN not in caplog.text


def test_the_credential_is_encrypted_at_rest_and_sent_only_to_the_server(registered, mcp, account, caplog):
    caplog.set_level(logging.DEBUG)
    raw = McpServer.objects.values_list("credential_encrypted", "credential_hint").get(pk=registered.pk)
    assert TOKEN not in raw[0] and raw[1] == "****" + TOKEN[-4:]
    ctx = ToolContext(account_id=account.pk, conversation_id=None, user_id=None, idempotency_key="k-cred")
    assert toolbox.run_tool(_tool(registered, "order_status"), {"order": "A"}, ctx)[0]
    assert mcp.calls_of("order_status")[0].headers["authorization"] == f"Bearer {TOKEN}"
    assert TOKEN not in caplog.text


def test_another_accounts_server_is_never_usable(account, other_account, registered, mcp):
    status = _tool(registered, "order_status")
    ctx = ToolContext(account_id=other_account.pk, conversation_id=None, user_id=None, idempotency_key="k-x")
    with pytest.raises(ToolFailed, match="not available to this account"):
        from agents.mcp.dispatch import mcp_tool_call

        mcp_tool_call(ctx.__class__(**{**ctx.__dict__, "tool_slug": status.slug}), order="A")
    assert mcp.calls == []


def test_a_call_whose_worker_died_is_never_sent_twice(account, member, registered, mcp, make_agent):
    """The worker sent the gated call, the server acted and answered, and the worker died before
    the turn's checkpoint (the call is still ``running``). The resumed turn does not call again:
    it stops at "may or may not have run"; when the owner says "run it again", the call is answered
    from its MCP record (same idempotency key), and the server still saw it once."""
    from agents.tools.registry import ToolContext as Context
    from conversations.uncertain_calls import tool_call_resolve

    refund = _tool(registered, "refund_order")
    agent = make_agent("clerk", [refund])
    reply = _turn(
        account, member, agent, f'@clerk: tool {refund.slug} {{"order": "C-3", "amount": 7}}; say done'
    )
    approval_decide(approval=Approval.objects.get(), user=member, approve=True)
    call = ToolCall.objects.get()
    # What the dead worker did: marked the call running, and the server ran it.
    ToolCall.objects.filter(pk=call.pk).update(status=ToolCall.Status.RUNNING)
    ctx = Context(
        account_id=account.pk, conversation_id=reply.conversation_id, user_id=member.pk,
        idempotency_key=call.idempotency_key, agent_id=agent.pk,
    )  # fmt: skip
    assert toolbox.run_tool(refund, {"order": "C-3", "amount": 7}, ctx)[0]
    assert len(mcp.calls_of("refund_order")) == 1

    reply_generate(message_id=reply.pk)  # the resumed turn
    reply.refresh_from_db()
    call.refresh_from_db()
    assert (reply.status, call.status) == ("awaiting_approval", "uncertain")
    assert len(mcp.calls_of("refund_order")) == 1

    tool_call_resolve(tool_call=call, user=member, ran=False)  # "run it again"
    reply_generate(message_id=reply.pk)
    reply.refresh_from_db()
    assert reply.status == "complete" and reply.content == "done"
    assert ToolCall.objects.get().result == {"result": "refunded 7.00 on C-3"}
    assert len(mcp.calls_of("refund_order")) == 1


def test_a_call_cut_off_by_a_dead_worker_is_closed_as_interrupted_and_counted(account, registered, mcp):
    """A worker killed mid-call leaves its record ``running``; once well past the server's
    timeout, beat's sweep records it as interrupted (a call, and an error, in the figures). A
    call asked again under its key starts afresh and is not swept by its first start."""
    status = _tool(registered, "order_status")
    record = McpCall.objects.create(
        server=registered, tool=McpTool.objects.get(tool=status), account=account, idempotency_key="k-cut"
    )
    assert mcp_calls_close_interrupted() == 0  # still within the timeout: it may be running
    later = timezone.now() + timedelta(seconds=registered.timeout_seconds + 61)
    assert mcp_calls_close_interrupted(now=later) == 1
    record.refresh_from_db()
    assert record.outcome == "interrupted" and "worker stopped" in record.error
    figures = mcp_server_figures(server=registered, account_id=account.pk)[None]
    assert (figures.calls, figures.errors) == (1, 1)

    McpCall.objects.filter(pk=record.pk).update(started_at=timezone.now() - timedelta(hours=1))
    ctx = ToolContext(account_id=account.pk, conversation_id=None, user_id=None, idempotency_key="k-cut")
    assert toolbox.run_tool(status, {"order": "A-1"}, ctx)[0]  # asked again: reaches the server
    record.refresh_from_db()
    assert record.outcome == "ok" and record.started_at > timezone.now() - timedelta(minutes=1)
    assert len(mcp.calls_of("order_status")) == 1
