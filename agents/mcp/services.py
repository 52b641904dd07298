"""Writes of MCP servers: register, change, discover tools, check health."""

from __future__ import annotations

import hashlib
import logging
import re
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import Account
from agents.mcp import client, crypto
from agents.mcp.models import McpCall, McpServer, McpTool
from agents.models import Tool

logger = logging.getLogger(__name__)

MCP_HANDLER = "mcp"
# A call still ``running`` this long after its server's timeout has no caller any more (the
# client gives up at the timeout): its worker died during it.
INTERRUPTED_GRACE_SECONDS = 60
# Fields an account admin (or staff, for global servers) may set through the API and page.
EDITABLE_FIELDS = (
    "slug", "name", "transport", "url", "stateful", "timeout_seconds", "max_calls_per_minute",
    "max_result_chars", "enabled",
)  # fmt: skip


class McpServerUnavailable(Exception):
    """The server could not be reached or answered badly; the message says why."""


def _apply(*, server: McpServer, data: dict) -> None:
    for field in EDITABLE_FIELDS:
        if field in data and data[field] is not None:
            setattr(server, field, data[field])
    credential = data.get("credential")
    if credential is not None:  # omitted keeps it; "" clears it
        server.credential_encrypted = crypto.encrypt(credential)
        server.credential_hint = crypto.hint(credential)
    errors: dict[str, list[str]] = {}
    taken = McpServer.objects.filter(account_id=server.account_id, slug=server.slug).exclude(pk=server.pk)
    if server.slug and taken.exists():
        errors["slug"] = ["This account already has an MCP server with this slug."]
    try:
        server.full_clean(validate_constraints=False)
    except ValidationError as error:
        for field, messages in error.message_dict.items():
            errors.setdefault(field, []).extend(messages)
    if errors:
        raise ValidationError(errors)


def mcp_server_create(*, account: Account, data: dict) -> McpServer:
    """Register a streamable HTTP server for ``account``. A local command (stdio) is for staff,
    in admin: asked for here, it is refused by the model's rule, naming ``transport``."""
    server = McpServer(account=account, transport=McpServer.Transport.STREAMABLE_HTTP)
    _apply(server=server, data=data)
    server.save()
    return server


@transaction.atomic
def mcp_server_update(*, server: McpServer, data: dict) -> McpServer:
    renamed = "slug" in data and data["slug"] != server.slug
    _apply(server=server, data=data)
    server.save()
    if renamed:
        for mcp_tool in server.tools.select_related("tool"):
            mcp_tool.tool.slug = _tool_slug(server, mcp_tool.name)
            mcp_tool.tool.save(update_fields=["slug"])
    return server


@transaction.atomic
def mcp_server_delete(*, server: McpServer) -> None:
    # The registry rows go with it, and so leave every agent's allowlist.
    Tool.objects.filter(mcp__server=server).delete()
    server.delete()


def _tool_slug(server: McpServer, name: str) -> str:
    """``<server>_<id>__<tool>``: unique across accounts, and a valid model function name."""
    clean = re.sub(r"[^a-zA-Z0-9_-]", "_", name)
    slug = f"{server.slug}_{server.pk}__{clean}"
    if len(slug) > 60:
        digest = hashlib.sha256(name.encode()).hexdigest()[:8]
        slug = f"{slug[:51]}_{digest}"
    return slug


def _mark(server: McpServer, *, healthy: bool, error: str = "") -> None:
    server.health = McpServer.Health.HEALTHY if healthy else McpServer.Health.UNHEALTHY
    server.health_checked_at = timezone.now()
    server.last_error = "" if healthy else error
    McpServer.objects.filter(pk=server.pk).update(
        health=server.health, health_checked_at=server.health_checked_at, last_error=server.last_error
    )


def mcp_server_mark_unhealthy(*, server: McpServer, error: str) -> None:
    """A call could not reach it: its tools are withheld until a health check sees it back."""
    if server.health != McpServer.Health.UNHEALTHY:
        logger.warning("MCP server %s is unreachable: %s", server.pk, error)
    _mark(server, healthy=False, error=error)


def mcp_server_discover(*, server: McpServer) -> list[McpTool]:
    """List the server's tools and make each a registry tool. A new tool that the server does
    not annotate read-only waits for approval on every call (an admin may change that); a tool
    seen before keeps what an admin set. Tools the server no longer lists are withheld."""
    try:
        found = client.list_tools(server)
    except (client.McpUnreachable, client.McpTimeout, client.McpBroken) as error:
        _mark(server, healthy=False, error=str(error))
        raise McpServerUnavailable(str(error)) from None
    with transaction.atomic():
        kept: list[McpTool] = []
        for item in found:
            mcp_tool = server.tools.select_related("tool").filter(name=item.name).first()
            title = item.title or item.name
            description = (item.description or title)[:4000]
            if mcp_tool is None:
                tool = Tool.objects.create(
                    slug=_tool_slug(server, item.name), name=f"{server.name}: {title}"[:120],
                    description=description, handler=MCP_HANDLER,
                    args_schema=item.input_schema or {"type": "object", "properties": {}},
                    acts_on_live_system=not item.annotations.get("readOnlyHint", False),
                )  # fmt: skip
                mcp_tool = McpTool(server=server, name=item.name, tool=tool)
            else:
                Tool.objects.filter(pk=mcp_tool.tool_id).update(
                    name=f"{server.name}: {title}"[:120], description=description,
                    args_schema=item.input_schema or {"type": "object", "properties": {}},
                )  # fmt: skip
            mcp_tool.description = item.description
            mcp_tool.input_schema = item.input_schema
            mcp_tool.annotations = item.annotations
            mcp_tool.listed = True
            mcp_tool.save()
            kept.append(mcp_tool)
        server.tools.exclude(pk__in=[t.pk for t in kept]).update(listed=False)
        server.discovered_at = timezone.now()
        server.save(update_fields=["discovered_at"])
        _mark(server, healthy=True)
    return kept


def mcp_tool_set_gate(*, mcp_tool: McpTool, acts_on_live_system: bool) -> McpTool:
    """An admin's decision: whether every call of this tool waits for a person's approval."""
    Tool.objects.filter(pk=mcp_tool.tool_id).update(acts_on_live_system=acts_on_live_system)
    mcp_tool.tool.refresh_from_db()
    return mcp_tool


def mcp_server_check_health(*, server: McpServer) -> bool:
    """Open a session and list the tools, within the timeout: healthy if that works."""
    try:
        client.list_tools(server)
    except (client.McpUnreachable, client.McpTimeout, client.McpBroken) as error:
        if server.health != McpServer.Health.UNHEALTHY:
            logger.warning("MCP server %s failed its health check: %s", server.pk, error)
        _mark(server, healthy=False, error=str(error))
        return False
    if server.health == McpServer.Health.UNHEALTHY:
        logger.info("MCP server %s recovered; its tools are offered again", server.pk)
    _mark(server, healthy=True)
    return True


def mcp_servers_check_health() -> dict[int, bool]:
    """Every enabled server, one after the other (each bounded by its own timeout)."""
    return {
        server.pk: mcp_server_check_health(server=server)
        for server in McpServer.objects.filter(enabled=True).order_by("pk")
    }


def mcp_calls_close_interrupted(*, now: datetime | None = None) -> int:
    """Record the calls whose worker died mid-call (still ``running`` well past their server's
    timeout) as interrupted, so they count among the calls and errors instead of staying
    "running" for ever. What the turn does about such a call (ask a read-only tool again, hold
    any other for its owner) is the turn's decision; this only closes the record."""
    now = now or timezone.now()
    running = McpCall.objects.filter(outcome=McpCall.Outcome.RUNNING)
    closed = 0
    for server_id, timeout in running.values_list("server_id", "server__timeout_seconds").distinct():
        cutoff = now - timedelta(seconds=timeout + INTERRUPTED_GRACE_SECONDS)
        closed += running.filter(server_id=server_id, started_at__lt=cutoff).update(
            outcome=McpCall.Outcome.INTERRUPTED,
            error="The worker stopped during the call; its answer was never received.",
            finished_at=now,
        )
    if closed:
        logger.warning("%d MCP call(s) were cut off by a worker that stopped", closed)
    return closed
