"""The MCP servers page of an account: its servers and the global ones shared with it, with
health, last error, call counts and latency per tool; account admins register, discover,
set each tool's approval gate and remove. Another account's server is a 404."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from accounts.decorators import account_required
from agents.mcp.models import McpServer
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
    mcp_tool_set_gate,
)


def _admin(request: HttpRequest) -> None:
    if request.membership is None or not request.membership.is_admin:
        raise PermissionDenied("Only the account's admins manage its MCP servers.")


def _own_server(request: HttpRequest, server_id: int) -> McpServer:
    server = mcp_server_for_account(account_id=request.account.pk, server_id=server_id)
    if server is None:
        raise Http404("No such MCP server.")
    if server.account_id != request.account.pk:
        raise PermissionDenied("A global MCP server is managed by staff.")
    return server


def _rows(account_id: int) -> list[dict]:
    rows = []
    for server in mcp_servers_usable_by(account_id=account_id):
        figures = mcp_server_figures(server=server, account_id=account_id)
        tools = [{"tool": t, "figures": figures[t.pk]} for t in mcp_tools_of(server=server)]
        rows.append({"server": server, "figures": figures[None], "tools": tools})
    return rows


def _page(request: HttpRequest, *, errors: dict | None = None, data: dict | None = None, status: int = 200):
    context = {"rows": _rows(request.account.pk), "errors": errors or {}, "data": data or {}}
    return render(request, "agents/mcp_servers.html", context, status=status)


@require_GET
@account_required
def mcp_servers(request: HttpRequest) -> HttpResponse:
    _admin(request)
    return _page(request)


@require_POST
@account_required
def mcp_server_register(request: HttpRequest) -> HttpResponse:
    _admin(request)
    data = {
        "slug": request.POST.get("slug", "").strip(),
        "name": request.POST.get("name", "").strip(),
        "url": request.POST.get("url", "").strip(),
        "stateful": request.POST.get("stateful") == "on",
        # The form offers streamable HTTP only; a posted local command (stdio) is refused by name.
        "transport": request.POST.get("transport", "").strip() or McpServer.Transport.STREAMABLE_HTTP,
    }
    credential = request.POST.get("credential", "")
    try:
        server = mcp_server_create(account=request.account, data={**data, "credential": credential or None})
    except ValidationError as error:
        # The form comes back with what was typed (never the credential) and each field's message.
        return _page(request, errors=error.message_dict, data=data, status=400)
    messages.success(request, f"{server.name} is registered. Discover its tools next.")
    return redirect("mcp:servers")


@require_POST
@account_required
def mcp_server_discover_tools(request: HttpRequest, server_id: int) -> HttpResponse:
    _admin(request)
    server = _own_server(request, server_id)
    try:
        found = mcp_server_discover(server=server)
        messages.success(request, f"{server.name}: {len(found)} tool(s) found.")
    except McpServerUnavailable as error:
        messages.error(request, f"{server.name} could not be reached: {error}")
    return redirect("mcp:servers")


@require_POST
@account_required
def mcp_server_remove(request: HttpRequest, server_id: int) -> HttpResponse:
    _admin(request)
    server = _own_server(request, server_id)
    mcp_server_delete(server=server)
    messages.success(request, f"{server.name} is removed, and its tools left every allowlist.")
    return redirect("mcp:servers")


@require_POST
@account_required
def mcp_tool_gate(request: HttpRequest, server_id: int, tool_id: int) -> HttpResponse:
    _admin(request)
    server = _own_server(request, server_id)
    mcp_tool = mcp_tools_of(server=server).filter(pk=tool_id).first()
    if mcp_tool is None:
        raise Http404("No such tool.")
    mcp_tool_set_gate(mcp_tool=mcp_tool, acts_on_live_system=request.POST.get("gated") == "on")
    return redirect("mcp:servers")
