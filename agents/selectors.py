from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Count, QuerySet

from accounts.models import Account
from agents.mcp.models import McpServer, McpTool
from agents.models import AgentInstance, KnowledgeArticle, KnowledgeCollection, Tool


def agent_default_for_account(*, account: Account) -> AgentInstance | None:
    agents = AgentInstance.objects.filter(account=account, status=AgentInstance.Status.ACTIVE)
    return agents.filter(is_default=True).first() or agents.first()


def knowledge_articles_for_account(*, account_id: int) -> QuerySet[KnowledgeArticle]:
    return KnowledgeArticle.objects.filter(account_id=account_id)


def knowledge_article_for_account(*, account_id: int, article_id: int) -> KnowledgeArticle | None:
    return KnowledgeArticle.objects.filter(account_id=account_id, pk=article_id).first()


def agents_active_for_account(*, account_id: int) -> QuerySet[AgentInstance]:
    return AgentInstance.objects.filter(account_id=account_id, status=AgentInstance.Status.ACTIVE)


def routing_profiles_for_account(*, account: Account) -> list:
    """The account's active agents as the router sees them (agents with no routing
    examples, like the general assistant, are not routed to)."""
    return routing_profiles(agents_active_for_account(account_id=account.pk))


def routing_profiles(agents: Iterable[AgentInstance]) -> list:
    """``routing_profiles_for_account`` over agents already loaded (the turn engine's catalog):
    the active ones with routing examples, by slug."""
    routable = sorted(
        (a for a in agents if a.status == AgentInstance.Status.ACTIVE and a.routing_examples),
        key=lambda a: a.slug,
    )
    if not routable:
        return []
    from agents.routing.router import AgentProfile

    return [
        AgentProfile(slug=a.slug, name=a.name, description=a.description, examples=tuple(a.routing_examples))
        for a in routable
    ]


# --- The agents pages (agents/pages.py) ----------------------------------------------------


@dataclass(frozen=True)
class AgentSummary:
    agent: AgentInstance
    is_default: bool
    tool_count: int
    collections: list[KnowledgeCollection]
    routing_example_count: int


def _collections_read(
    agent: AgentInstance, collections: list[KnowledgeCollection]
) -> list[KnowledgeCollection]:
    # The same rule as retrieval's (collections_readable): open to every agent, or naming it.
    return [c for c in collections if c.all_agents or any(r.pk == agent.pk for r in c.readers.all())]


def agent_summaries_for_account(*, account: Account) -> list[AgentSummary]:
    """Every agent of the account (any status), with the one answering unrouted conversations
    (the default, or legacy, agent) marked."""
    default = agent_default_for_account(account=account)
    collections = list(KnowledgeCollection.objects.filter(account=account).prefetch_related("readers"))
    agents = (
        AgentInstance.objects.filter(account=account)
        .select_related("template")
        .annotate(tool_count=Count("tools", distinct=True))
        .order_by("name", "slug")
    )
    return [
        AgentSummary(
            agent=agent,
            is_default=default is not None and agent.pk == default.pk,
            tool_count=agent.tool_count,
            collections=_collections_read(agent, collections),
            routing_example_count=len(agent.routing_examples or []),
        )
        for agent in agents
    ]


def agent_summary_for_account(*, account: Account, slug: str) -> AgentSummary | None:
    """One agent of the account; another account's (or a missing) agent is None."""
    return next((s for s in agent_summaries_for_account(account=account) if s.agent.slug == slug), None)


@dataclass(frozen=True)
class AgentToolRow:
    tool: Tool
    waits_for_approval: bool
    server: McpServer | None  # an MCP tool's server, whose health and last error the page shows


def agent_tool_rows(*, agent: AgentInstance) -> list[AgentToolRow]:
    tools = list(agent.tools.order_by("name"))
    servers = {m.tool_id: m.server for m in McpTool.objects.filter(tool__in=tools).select_related("server")}
    return [
        AgentToolRow(tool=t, waits_for_approval=t.requires_approval, server=servers.get(t.pk)) for t in tools
    ]


@dataclass(frozen=True)
class AgentInternals:
    """What only the account's admins see, as in the API (agents/schemas.py SHOWS_INTERNALS)."""

    model: str
    system_prompt: str
    config: dict
    tools: list[AgentToolRow]
    handoff_targets: list[AgentInstance]
    routing_examples: list[str]


def agent_internals(*, agent: AgentInstance) -> AgentInternals:
    return AgentInternals(
        model=agent.model,
        system_prompt=agent.system_prompt,
        config=agent.config,
        tools=agent_tool_rows(agent=agent),
        handoff_targets=list(agent.handoff_targets.order_by("name")),
        routing_examples=list(agent.routing_examples or []),
    )
