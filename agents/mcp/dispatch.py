"""The registry handler behind every tool discovered on an MCP server. The turn engine has
already checked the allowlist, the arguments and the permission gate, as for any tool; this
adds what is particular to MCP: the server must be usable by the account and up, within its
rate limit, each call is recorded (duration, outcome), a call already completed under the same
idempotency key is answered from its record, and every failure is a tool error.

What a call does to the world (which decides what a resumed turn may do with a call whose worker
died mid-call) is told per tool: one the server annotates read-only and an admin left ungated
changes nothing, so it is simply asked again; any other may have acted on the server's system,
so it is never repeated without its owner saying so."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from django.core.cache import cache
from django.utils import timezone

from accounts.models import Account
from agents.mcp import client
from agents.mcp.models import McpCall, McpServer, McpTool
from agents.mcp.selectors import mcp_server_usable
from agents.mcp.services import MCP_HANDLER, mcp_server_mark_unhealthy
from agents.models import Tool
from agents.tools.builtin import OutcomeUnknown, ToolFailed
from agents.tools.registry import Effects, ToolContext, register

logger = logging.getLogger(__name__)


def _within_rate_limit(server: McpServer, account_id: int) -> bool:
    if not server.max_calls_per_minute:
        return True
    key = f"mcp:calls:{server.pk}:{account_id}:{int(time.time() // 60)}"
    cache.add(key, 0, timeout=120)
    return cache.incr(key) <= server.max_calls_per_minute


def _cut(payload: Any, limit: int) -> Any:
    text = payload if isinstance(payload, str) else json.dumps(payload, default=str)
    if len(text) <= limit:
        return payload
    return {"truncated": True, "text": text[:limit]}


def _finish(record: McpCall, started: float, outcome: str, *, result: Any = None, error: str = "") -> None:
    duration = int((time.monotonic() - started) * 1000)
    McpCall.objects.filter(pk=record.pk).update(
        outcome=outcome, result=result, error=error[:2000], duration_ms=duration, finished_at=timezone.now()
    )
    logger.info(
        "MCP call %s (server %s, tool %s): %s in %d ms",
        record.idempotency_key, record.server_id, record.tool_id, outcome, duration,
    )  # fmt: skip


def _sent_but_unanswered(mcp_tool: McpTool, message: str) -> ToolFailed:
    """The call was sent and no answer came: a read-only tool simply failed; any other may have
    acted, so the turn stops at "may or may not have run" for its owner to settle."""
    return ToolFailed(message) if mcp_tool.read_only else OutcomeUnknown(message)


def mcp_tool_effects(tool: Tool) -> str:
    """READ_ONLY for a tool its server annotates read-only (a gated tool never gets here: the
    toolbox takes every tool that acts on a live system as EXTERNAL); EXTERNAL for any other."""
    annotations = McpTool.objects.filter(tool_id=tool.pk).values_list("annotations", flat=True).first()
    return Effects.READ_ONLY if (annotations or {}).get("readOnlyHint") else Effects.EXTERNAL


@register(MCP_HANDLER, effects=mcp_tool_effects)
def mcp_tool_call(ctx: ToolContext, **arguments: Any) -> dict[str, Any]:
    mcp_tool = McpTool.objects.select_related("server", "tool").filter(tool__slug=ctx.tool_slug).first()
    if mcp_tool is None:
        raise ToolFailed(f"{ctx.tool_slug} is not a tool of any MCP server")
    server = mcp_tool.server
    # The allowlist could only name it through an account that may use the server; checked
    # again here so that a server no longer shared with the account is never reached.
    if not mcp_server_usable(server=server, account_id=ctx.account_id):
        raise ToolFailed(f"{ctx.tool_slug} is not available to this account")
    previous = McpCall.objects.filter(idempotency_key=ctx.idempotency_key).first()
    if previous is not None and previous.outcome == McpCall.Outcome.OK:
        # It completed before the turn could record it: answered from the record, not called again.
        return {"result": previous.result}
    if previous is not None and previous.outcome == McpCall.Outcome.TOOL_ERROR:
        raise ToolFailed(previous.error)
    if not server.is_available or not mcp_tool.listed:
        raise ToolFailed(
            f"the {server.name} tools are unavailable right now: {server.last_error or 'disabled'}"
        )

    record, _ = McpCall.objects.update_or_create(
        idempotency_key=ctx.idempotency_key,
        defaults={
            "server": server, "tool": mcp_tool, "account_id": ctx.account_id, "agent_id": ctx.agent_id,
            "conversation_id": ctx.conversation_id, "outcome": McpCall.Outcome.RUNNING,
            "result": None, "error": "", "finished_at": None, "duration_ms": None,
            "started_at": timezone.now(),  # a call asked again starts again
        },
    )  # fmt: skip
    started = time.monotonic()
    if not _within_rate_limit(server, ctx.account_id):
        message = f"the {server.name} limit of {server.max_calls_per_minute} calls a minute is reached"
        _finish(record, started, McpCall.Outcome.REFUSED, error=message)
        raise ToolFailed(message + "; try again in a minute")
    identity = client.CallIdentity(
        account_slug=Account.objects.values_list("slug", flat=True).get(pk=ctx.account_id),
        agent_id=ctx.agent_id,
        conversation_id=ctx.conversation_id,
    )
    try:
        outcome = client.call_tool(
            server, mcp_tool.name, arguments, idempotency_key=ctx.idempotency_key, identity=identity
        )
    except client.McpUnreachable as error:
        _finish(record, started, McpCall.Outcome.UNREACHABLE, error=str(error))
        mcp_server_mark_unhealthy(server=server, error=str(error))
        raise ToolFailed(f"could not reach {server.name}: {error}") from None
    except client.McpTimeout as error:
        _finish(record, started, McpCall.Outcome.TIMEOUT, error=str(error))
        raise _sent_but_unanswered(mcp_tool, f"{server.name} did not answer: {error}") from None
    except Exception as error:  # a broken session or anything unforeseen: a tool error, not a crash
        _finish(record, started, McpCall.Outcome.UNREACHABLE, error=client._describe(error))
        raise _sent_but_unanswered(
            mcp_tool, f"the call to {server.name} failed: {client._describe(error)}"
        ) from None
    payload = _cut(outcome.payload, server.max_result_chars)
    if outcome.is_error:
        message = payload if isinstance(payload, str) else json.dumps(payload, default=str)
        _finish(record, started, McpCall.Outcome.TOOL_ERROR, error=message)
        raise ToolFailed(message)
    _finish(record, started, McpCall.Outcome.OK, result=payload)
    return {"result": payload}
