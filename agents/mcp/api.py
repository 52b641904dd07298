"""The MCP servers API: an account's servers and the global ones shared with it, their tools,
discovery and the approval gate of each tool. Reads need a membership; changes the admin role,
and only of the account's own servers. Another account's server is a 404, like a missing one."""

from __future__ import annotations

from django.http import Http404, HttpRequest
from ninja import Router, Status
from ninja.errors import HttpError

from accounts.models import Membership
from agents.api_selectors import membership_for_account_slug
from agents.mcp.models import McpServer
from agents.mcp.schemas import McpServerIn, McpServerOut, McpToolIn, McpToolOut
from agents.mcp.selectors import (
    mcp_server_figures,
    mcp_server_for_account,
    mcp_servers_usable_by,
    mcp_tools_of,
)
from agents.mcp.services import (
    McpServerUnavailable,
    mcp_server_create,
    mcp_server_delete,
    mcp_server_discover,
    mcp_server_update,
    mcp_tool_set_gate,
)

router = Router(tags=["mcp servers"])


def _membership(request: HttpRequest, account: str, *, admin: bool = False) -> Membership:
    membership = membership_for_account_slug(user=request.user, account_slug=account)
    if membership is None:
        raise Http404
    if admin and not membership.is_admin:
        raise HttpError(403, "Only the account's admins may change its MCP servers.")
    return membership


def _server(membership: Membership, server_id: int, *, own: bool = False) -> McpServer:
    server = mcp_server_for_account(account_id=membership.account_id, server_id=server_id)
    if server is None:
        raise Http404
    if own and server.account_id != membership.account_id:
        raise HttpError(403, "A global MCP server is managed by staff.")
    return server


def _figures(figures) -> dict:
    return {
        "calls": figures.calls,
        "errors": figures.errors,
        "mean_ms": figures.mean_ms,
        "p95_ms": figures.p95_ms,
    }


def _tool_out(mcp_tool, figures) -> dict:
    return {
        "id": mcp_tool.pk, "name": mcp_tool.name, "slug": mcp_tool.tool.slug,
        "description": mcp_tool.description, "input_schema": mcp_tool.input_schema,
        "read_only": mcp_tool.read_only, "acts_on_live_system": mcp_tool.tool.acts_on_live_system,
        "listed": mcp_tool.listed, "figures": _figures(figures[mcp_tool.pk]),
    }  # fmt: skip


def server_out(server: McpServer, account_id: int) -> dict:
    figures = mcp_server_figures(server=server, account_id=account_id)
    return {
        "id": server.pk, "slug": server.slug, "name": server.name,
        "scope": "global" if server.is_global else "account", "transport": server.transport,
        "url": server.url if server.transport == McpServer.Transport.STREAMABLE_HTTP else "",
        "credential": server.credential_hint, "stateful": server.stateful,
        "timeout_seconds": server.timeout_seconds, "max_calls_per_minute": server.max_calls_per_minute,
        "max_result_chars": server.max_result_chars, "enabled": server.enabled, "health": server.health,
        "health_checked_at": server.health_checked_at, "last_error": server.last_error,
        "discovered_at": server.discovered_at, "figures": _figures(figures[None]),
        "tools": [_tool_out(t, figures) for t in mcp_tools_of(server=server)],
    }  # fmt: skip


@router.get("/accounts/{account}/mcp-servers", response=list[McpServerOut], summary="List MCP servers")
def servers_list(request: HttpRequest, account: str):
    membership = _membership(request, account)
    return [
        server_out(s, membership.account_id) for s in mcp_servers_usable_by(account_id=membership.account_id)
    ]


@router.post(
    "/accounts/{account}/mcp-servers", response={201: McpServerOut}, summary="Register an MCP server"
)
def servers_create(request: HttpRequest, account: str, payload: McpServerIn):
    membership = _membership(request, account, admin=True)
    server = mcp_server_create(account=membership.account, data=payload.dict(exclude_unset=True))
    return Status(201, server_out(server, membership.account_id))


@router.get("/accounts/{account}/mcp-servers/{server_id}", response=McpServerOut, summary="Get an MCP server")
def servers_get(request: HttpRequest, account: str, server_id: int):
    membership = _membership(request, account)
    return server_out(_server(membership, server_id), membership.account_id)


@router.patch(
    "/accounts/{account}/mcp-servers/{server_id}", response=McpServerOut, summary="Change an MCP server"
)
def servers_update(request: HttpRequest, account: str, server_id: int, payload: McpServerIn):
    membership = _membership(request, account, admin=True)
    server = mcp_server_update(
        server=_server(membership, server_id, own=True), data=payload.dict(exclude_unset=True)
    )
    return server_out(server, membership.account_id)


@router.delete(
    "/accounts/{account}/mcp-servers/{server_id}", response={204: None}, summary="Remove an MCP server"
)
def servers_delete(request: HttpRequest, account: str, server_id: int):
    membership = _membership(request, account, admin=True)
    mcp_server_delete(server=_server(membership, server_id, own=True))
    return Status(204, None)


@router.post(
    "/accounts/{account}/mcp-servers/{server_id}/discover",
    response={200: McpServerOut, 502: dict},
    summary="Discover the server's tools",
)
def servers_discover(request: HttpRequest, account: str, server_id: int):
    membership = _membership(request, account, admin=True)
    server = _server(membership, server_id, own=True)
    try:
        mcp_server_discover(server=server)
    except McpServerUnavailable as error:
        return Status(502, {"detail": f"The server could not be reached: {error}"})
    server.refresh_from_db()
    return server_out(server, membership.account_id)


@router.patch(
    "/accounts/{account}/mcp-servers/{server_id}/tools/{tool_id}",
    response=McpToolOut,
    summary="Set whether a tool's calls wait for approval",
)
def tools_update(request: HttpRequest, account: str, server_id: int, tool_id: int, payload: McpToolIn):
    membership = _membership(request, account, admin=True)
    server = _server(membership, server_id, own=True)
    mcp_tool = mcp_tools_of(server=server).filter(pk=tool_id).first()
    if mcp_tool is None:
        raise Http404
    mcp_tool_set_gate(mcp_tool=mcp_tool, acts_on_live_system=payload.acts_on_live_system)
    return _tool_out(mcp_tool, mcp_server_figures(server=server, account_id=membership.account_id))
