"""What a turn reads: the account's agent catalog once per turn, not once per step.

``TurnRunner`` loads the agents with their tools (and each tool's MCP server) and hand-off
targets once; routing and every step's tool specs use that catalog.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from agents.mcp.models import McpServer, McpTool
from agents.models import AgentInstance, AgentTemplate, Tool
from agents.runtime import toolbox
from conversations.models import Message
from conversations.replies import reply_generate
from conversations.services import conversation_start, message_send

pytestmark = pytest.mark.django_db(transaction=True)

SCRIPT = "@alpha: transfer beta beta knows || @beta: transfer gamma gamma knows || @gamma: say done"


def _selects_from(queries: list[dict], table: str) -> int:
    return sum(
        1 for q in queries if q["sql"].lstrip().upper().startswith("SELECT") and f'FROM "{table}"' in q["sql"]
    )


def test_a_three_step_turn_reads_the_agent_catalog_once(account, member):
    template = AgentTemplate.objects.create(slug="reads-kind", name="Reads kind")
    trio = [
        AgentInstance.objects.create(account=account, template=template, slug=slug, name=slug.title())
        for slug in ("alpha", "beta", "gamma")
    ]
    for agent in trio:
        agent.handoff_targets.set([other for other in trio if other != agent])
    conversation = conversation_start(account=account, user=member)
    conversation.agent = trio[0]
    conversation.save()
    _, reply = message_send(conversation=conversation, user=member, content=SCRIPT)

    with CaptureQueriesContext(connection) as queries:
        reply_generate(message_id=reply.pk)

    reply.refresh_from_db()
    assert (reply.status, reply.content, reply.agent) == (Message.Status.COMPLETE, "done", trio[2])
    # The agents and their hand-off targets (a prefetch); routing reads none again.
    assert _selects_from(queries.captured_queries, "agents_agentinstance") == 2
    # The tools' prefetch, with their MCP servers joined: no query per step for the specs.
    assert _selects_from(queries.captured_queries, "agents_tool") == 1


def test_tools_offered_from_the_loaded_catalog_match_the_query(account):
    template = AgentTemplate.objects.create(slug="offer-kind", name="Offer kind")
    agent = AgentInstance.objects.create(account=account, template=template, slug="offer", name="Offer")
    own = Tool.objects.create(slug="own_tool", name="Own", handler="ticket_create")
    servers = {
        state: McpServer.objects.create(account=account, slug=f"s-{state}", name=state, **fields)
        for state, fields in {
            "healthy": {"health": McpServer.Health.HEALTHY},
            "down": {"health": McpServer.Health.UNHEALTHY},
            "disabled": {"enabled": False, "health": McpServer.Health.HEALTHY},
        }.items()
    }
    tools = [own]
    for state, server in servers.items():
        tool = Tool.objects.create(slug=f"s_{state}__t", name=state, handler="ticket_create")
        McpTool.objects.create(server=server, name="t", tool=tool)
        tools.append(tool)
    unlisted = Tool.objects.create(slug="s_healthy__gone", name="gone", handler="ticket_create")
    McpTool.objects.create(server=servers["healthy"], name="gone", tool=unlisted, listed=False)
    agent.tools.set([*tools, unlisted])

    by_query = toolbox.specs_for(agent, [])
    loaded = list(agent.tools.select_related("mcp__server"))
    with CaptureQueriesContext(connection) as queries:
        by_catalog = toolbox.specs_for(agent, [], loaded)

    assert len(queries.captured_queries) == 0
    assert by_catalog == by_query
    assert sorted(s["function"]["name"] for s in by_catalog) == ["own_tool", "s_healthy__t"]
