"""Reads of MCP servers, always through the account that asks."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet

from agents.mcp.models import McpCall, McpServer, McpTool
from agents.models import Tool


def _usable_q(account_id: int) -> Q:
    shared = Q(account__isnull=True) & (Q(available_to_all=True) | Q(allowed_accounts__id=account_id))
    return Q(account_id=account_id) | shared


def mcp_servers_usable_by(*, account_id: int) -> QuerySet[McpServer]:
    """The account's own servers and the global ones offered to it (enabled or not)."""
    ids = McpServer.objects.filter(_usable_q(account_id)).values("pk")
    return McpServer.objects.filter(pk__in=ids).order_by("account_id", "name")


def mcp_server_usable(*, server: McpServer, account_id: int) -> bool:
    return mcp_servers_usable_by(account_id=account_id).filter(pk=server.pk).exists()


def mcp_server_for_account(*, account_id: int, server_id: int) -> McpServer | None:
    """A server the account may see (its own or one shared with it); anything else is None,
    which entry points answer as a 404 whether or not it exists."""
    return mcp_servers_usable_by(account_id=account_id).filter(pk=server_id).first()


def tools_assignable(*, account_id: int) -> QuerySet[Tool]:
    """Tools an agent of the account may have on its allowlist: the built-in ones and those of
    MCP servers it may use. Another account's MCP tools are as unknown as missing ones."""
    usable = mcp_servers_usable_by(account_id=account_id).values("pk")
    return Tool.objects.filter(Q(mcp__isnull=True) | Q(mcp__server__in=usable))


def mcp_unhealthy_servers() -> list[McpServer]:
    """Enabled servers whose last check failed: their tools are withheld from models."""
    return list(
        McpServer.objects.filter(enabled=True, health=McpServer.Health.UNHEALTHY)
        .select_related("account")
        .order_by("account__slug", "slug")
    )


@dataclass(frozen=True)
class ToolFigures:
    calls: int
    errors: int
    mean_ms: float | None
    p95_ms: float | None


def _figures(calls: QuerySet[McpCall]) -> ToolFigures:
    finished = calls.exclude(outcome=McpCall.Outcome.RUNNING)
    durations = sorted(d for d in finished.values_list("duration_ms", flat=True) if d is not None)
    counts = finished.aggregate(n=Count("pk"), errors=Count("pk", filter=~Q(outcome=McpCall.Outcome.OK)))
    p95 = durations[min(len(durations) - 1, int(0.95 * len(durations)))] if durations else None
    return ToolFigures(
        calls=counts["n"],
        errors=counts["errors"],
        mean_ms=round(sum(durations) / len(durations), 1) if durations else None,
        p95_ms=p95,
    )


def mcp_server_figures(*, server: McpServer, account_id: int) -> dict[int | None, ToolFigures]:
    """Calls, errors and latency of the account's calls, per tool id, and in total (key None).
    A shared server's figures count this account's calls only."""
    calls = McpCall.objects.filter(server=server, account_id=account_id)
    figures: dict[int | None, ToolFigures] = {None: _figures(calls)}
    for tool in server.tools.all():
        figures[tool.pk] = _figures(calls.filter(tool=tool))
    return figures


def mcp_tools_of(*, server: McpServer) -> QuerySet[McpTool]:
    return server.tools.select_related("tool").order_by("name")
