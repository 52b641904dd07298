"""What an agent may call, as model tool specs, and running a call exactly once."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from jsonschema import Draft202012Validator

from agents.models import AgentInstance, Tool
from agents.tools.builtin import OutcomeUnknown, ToolFailed
from agents.tools.registry import Effects, ToolContext, get_handler, handler_effects

TRANSFER_PREFIX = "transfer_to_"


def transfer_spec(target: AgentInstance) -> dict:
    return {
        "type": "function",
        "function": {
            "name": f"{TRANSFER_PREFIX}{target.slug}",
            "description": f"Hand the conversation to {target.name}: {target.description}".strip(),
            "parameters": {
                "type": "object",
                "properties": {
                    "reason": {"type": "string", "description": "Why this agent should take over."}
                },
                "required": ["reason"],
            },
        },
    }


def tool_spec(tool: Tool) -> dict:
    return {
        "type": "function",
        "function": {
            "name": tool.slug,
            "description": tool.description,
            "parameters": tool.args_schema or {"type": "object", "properties": {}},
        },
    }


def specs_for(
    agent: AgentInstance, targets: list[AgentInstance], tools: Iterable[Tool] | None = None
) -> list[dict]:
    """The agent's tools and hand-offs as the model is offered them. ``tools``: the agent's tools
    already loaded with ``select_related("mcp__server")`` (the turn engine loads them once per
    turn), filtered here the way the query below filters them."""
    # Tools of an MCP server that is down or disabled are withheld until it recovers.
    if tools is None:
        offered = agent.tools.exclude(mcp__server__health="unhealthy").exclude(mcp__server__enabled=False)
        listed = list(offered.exclude(mcp__listed=False))
    else:
        listed = [t for t in tools if _offered(t)]
    return [tool_spec(t) for t in listed] + [transfer_spec(t) for t in targets]


def _offered(tool: Tool) -> bool:
    mcp = getattr(tool, "mcp", None)  # None for a tool of our own (no MCP row)
    if mcp is None:
        return True
    return mcp.listed and mcp.server.is_available


@dataclass(frozen=True)
class ParsedCall:
    name: str
    arguments: dict
    error: str = ""


def parse_call(name: str, raw_arguments: str) -> ParsedCall:
    try:
        arguments = json.loads(raw_arguments or "{}")
    except json.JSONDecodeError as error:
        return ParsedCall(name, {}, f"the arguments are not valid JSON: {error.msg}")
    if not isinstance(arguments, dict):
        return ParsedCall(name, {}, "the arguments must be a JSON object")
    return ParsedCall(name, arguments)


def argument_errors(tool: Tool, arguments: dict) -> list[str]:
    validator = Draft202012Validator(tool.args_schema or {})
    return [
        f"{'/'.join(map(str, e.absolute_path)) or 'arguments'}: {e.message}"
        for e in validator.iter_errors(arguments)
    ]


def effects_of(tool: Tool) -> str:
    """The ``Effects`` of a call of this tool: a tool that acts on a live system is EXTERNAL
    whatever its handler says; otherwise the handler's own declaration."""
    if tool.acts_on_live_system:
        return Effects.EXTERNAL
    return handler_effects(tool.handler, tool)


def rerun_is_safe(tool: Tool) -> bool:
    """May a call whose outcome was never recorded (its worker died) simply run again?"""
    return effects_of(tool) != Effects.EXTERNAL


def run_tool(tool: Tool, arguments: dict, ctx: ToolContext) -> tuple[bool, Any]:
    """(ok, result or error text). ``OutcomeUnknown`` is raised, not returned: whether the call
    acted is unknown. A DATABASE tool runs in a savepoint, so a failed call leaves none of its
    writes; the caller holds the transaction that commits them with the call's completion."""
    handler = get_handler(tool.handler)
    ctx = dataclasses.replace(ctx, tool_slug=tool.slug)
    try:
        if effects_of(tool) == Effects.DATABASE:
            with transaction.atomic():
                return True, handler(ctx, **arguments)
        return True, handler(ctx, **arguments)
    except OutcomeUnknown:
        raise
    except ToolFailed as error:
        return False, str(error)
    except TypeError as error:  # arguments the handler does not take
        return False, f"bad arguments: {error}"
