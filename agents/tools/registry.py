"""The code behind each Tool row: a name in the database maps to a function here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

ToolHandler = Callable[..., dict[str, Any]]
# A handler that serves many tools (the MCP one) may tell each tool's effects apart: given the
# registry Tool row, it returns that tool's ``Effects``.
EffectsOf = Callable[[Any], str]

_handlers: dict[str, ToolHandler] = {}
_effects: dict[str, str | EffectsOf] = {}


class Effects:
    """What running a handler does to the world, which decides what a turn may do with a call
    whose outcome it never learned (its worker died while the call was running).

    - READ_ONLY: nothing changes; the call may simply run again.
    - DATABASE: it changes rows of this database only. The turn commits those rows together with
      the call's completion, so a call still ``running`` after a crash changed nothing and runs again.
    - IDEMPOTENT: it acts (in this database, or through work it starts) only after looking its
      ``idempotency_key`` up, so running it again finds what the first run did and repeats nothing.
    - EXTERNAL: it acts on another system (HTTP, MCP). A call still ``running`` after a crash may or
      may not have acted: it is never repeated without a person saying so. Handlers that declare
      nothing are taken to be EXTERNAL, the one assumption that cannot run an action twice. (The
      MCP handler tells its tools apart: one its server annotates read-only, and not gated, is
      READ_ONLY.)
    """

    READ_ONLY = "read_only"
    DATABASE = "database"
    IDEMPOTENT = "idempotent"
    EXTERNAL = "external"


@dataclass(frozen=True)
class ToolContext:
    account_id: int
    conversation_id: int | None
    user_id: int | None
    # The same for every attempt at one call (it is the ToolCall row's ``idempotency_key``):
    # handlers that reach another system send it (an ``Idempotency-Key`` header, the MCP call's
    # metadata) so that system can recognise a call that a person chose to run again.
    idempotency_key: str
    # The agent instance making the call (stateful MCP servers receive it) and the registry
    # tool being run (one handler serves every tool discovered on MCP servers).
    agent_id: int | None = None
    tool_slug: str = ""


def register(
    name: str, *, effects: str | EffectsOf = Effects.EXTERNAL
) -> Callable[[ToolHandler], ToolHandler]:
    def decorator(func: ToolHandler) -> ToolHandler:
        _handlers[name] = func
        _effects[name] = effects
        return func

    return decorator


def handler_names() -> list[str]:
    from agents.tools import builtin  # noqa: F401 - registers the built-in handlers

    return sorted(_handlers)


def get_handler(name: str) -> ToolHandler:
    handler_names()
    try:
        return _handlers[name]
    except KeyError:
        raise LookupError(f"no tool handler named {name!r}") from None


def handler_effects(name: str, tool: Any = None) -> str:
    """The declared ``Effects`` of a handler (EXTERNAL when it declared none, or is unknown), for
    ``tool`` when the handler tells its tools apart (EXTERNAL when no tool is given)."""
    handler_names()
    declared = _effects.get(name, Effects.EXTERNAL)
    if callable(declared):
        return declared(tool) if tool is not None else Effects.EXTERNAL
    return declared
