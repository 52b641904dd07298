"""What an agent may call, as model tool specs, and running a call exactly once."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from jsonschema import Draft202012Validator

from agents.models import AgentInstance, Tool
from agents.tools.builtin import ToolFailed
from agents.tools.registry import ToolContext, get_handler

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


def specs_for(agent: AgentInstance, targets: list[AgentInstance]) -> list[dict]:
    return [tool_spec(t) for t in agent.tools.all()] + [transfer_spec(t) for t in targets]


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


def run_tool(tool: Tool, arguments: dict, ctx: ToolContext) -> tuple[bool, Any]:
    """(ok, result or error text). Handlers are idempotent on ``ctx.idempotency_key``."""
    try:
        return True, get_handler(tool.handler)(ctx, **arguments)
    except ToolFailed as error:
        return False, str(error)
    except TypeError as error:  # arguments the handler does not take
        return False, f"bad arguments: {error}"
