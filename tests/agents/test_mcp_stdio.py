"""stdio MCP servers: a local command, registered by staff only. Staff register the loopback test
server's script as a global stdio server in the admin; discovery lists its tools over stdio and
an agent calls the read-only one through the real dispatch path (the credential goes to the
command as MCP_TOKEN, without which it refuses to start). An account admin cannot register a
local command, on the API or on the page: a 400 naming ``transport``, and nothing is saved."""

import json
import re

import pytest

from accounts.models import Membership
from agents.mcp.models import McpCall, McpServer, McpTool
from agents.mcp.services import McpServerUnavailable, mcp_server_discover
from agents.models import AgentInstance, AgentTemplate
from conversations.models import ToolCall
from conversations.replies import reply_generate
from conversations.services import conversation_start, message_send
from tests.support.mcp_server import TOKEN, read_stdio_calls, stdio_command

pytestmark = pytest.mark.django_db(transaction=True)


def _admin_form(command: str, args: list[str], **fields) -> dict:
    return {
        "account": "", "slug": "local-orders", "name": "Local orders", "transport": "stdio", "url": "",
        "command": command, "command_args": json.dumps(args), "credential": TOKEN,
        "available_to_all": "on", "timeout_seconds": "30", "max_calls_per_minute": "60",
        "max_result_chars": "20000", "enabled": "on",
        "tools-TOTAL_FORMS": "0", "tools-INITIAL_FORMS": "0", "tools-MIN_NUM_FORMS": "0",
        "tools-MAX_NUM_FORMS": "1000", **fields,
    }  # fmt: skip


@pytest.fixture
def stdio_server(admin_client, tmp_path) -> tuple[McpServer, str]:
    """Registered by staff in the admin, as a global server every account may use."""
    calls_file = str(tmp_path / "calls.jsonl")
    command, args = stdio_command(calls_file)
    response = admin_client.post("/admin/agents/mcpserver/add/", _admin_form(command, args))
    assert response.status_code == 302, response.content.decode()[-2000:]
    server = McpServer.objects.get(slug="local-orders")
    assert (server.transport, server.account_id, server.command_args) == ("stdio", None, args)
    assert TOKEN not in server.credential_encrypted
    return server, calls_file


def test_staff_register_a_local_command_and_an_agent_calls_its_read_only_tool(stdio_server, account, member):
    server, calls_file = stdio_server
    found = {t.name: t for t in mcp_server_discover(server=server)}
    assert set(found) == {"order_status", "refund_order"}
    status = McpTool.objects.select_related("tool").get(pk=found["order_status"].pk).tool
    assert status.args_schema["properties"]["order"]["type"] == "string"
    assert status.acts_on_live_system is False  # annotated read-only over stdio too
    assert McpTool.objects.get(pk=found["refund_order"].pk).tool.requires_approval
    server.refresh_from_db()
    assert server.health == "healthy"
    assert read_stdio_calls(calls_file) == []  # discovery calls nothing

    template = AgentTemplate.objects.create(slug="clerk-kind", name="Clerk kind")
    clerk = AgentInstance.objects.create(account=account, template=template, slug="clerk", name="Clerk")
    clerk.tools.set([status])
    conversation = conversation_start(account=account, user=member, agent=clerk)
    script = f'@clerk: tool {status.slug} {{"order": "S-1"}}; say It has shipped.'
    _, reply = message_send(conversation=conversation, user=member, content=script)
    reply_generate(message_id=reply.pk)
    reply.refresh_from_db()
    assert reply.status == "complete" and reply.content == "It has shipped.", reply.error
    call = ToolCall.objects.get()
    assert call.status == "completed"
    assert call.result == {"result": {"order": "S-1", "status": "shipped", "carrier": "DHL"}}
    [received] = read_stdio_calls(calls_file)
    assert (received.tool, received.arguments) == ("order_status", {"order": "S-1"})
    assert received.meta["idempotency_key"] == call.idempotency_key
    record = McpCall.objects.get()
    assert (record.outcome, record.account_id) == ("ok", account.pk) and record.duration_ms is not None


def test_a_local_command_without_its_credential_is_unhealthy(stdio_server):
    server, _ = stdio_server
    McpServer.objects.filter(pk=server.pk).update(credential_encrypted="", credential_hint="")
    server.refresh_from_db()
    with pytest.raises(McpServerUnavailable):
        mcp_server_discover(server=server)
    server.refresh_from_db()
    assert server.health == "unhealthy" and not server.tools.exists()


def test_an_account_admin_cannot_register_a_local_command_on_the_page(make_user, account, client, tmp_path):
    """(The API's 400 naming ``transport``: tests/agents/test_mcp_api.py.)"""
    client.force_login(make_user(account, role=Membership.Role.ADMIN, username="ada"))
    command, _ = stdio_command(str(tmp_path / "calls.jsonl"))
    page = client.post(
        "/tools/mcp/register/",
        {
            "slug": "local",
            "name": "Local",
            "transport": "stdio",
            "command": command,
            "url": "http://a.example/mcp",
        },
    )
    assert page.status_code == 400
    errors = re.findall(r'<p class="field-error">([^<]*)</p>', page.content.decode())
    assert errors == ["Only staff may register a local command (stdio), and only globally."]
    assert not McpServer.objects.exists()
