"""The code behind each Tool row: a name in the database maps to a function here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

ToolHandler = Callable[..., dict[str, Any]]

_handlers: dict[str, ToolHandler] = {}


@dataclass(frozen=True)
class ToolContext:
    account_id: int
    conversation_id: int | None
    user_id: int | None
    idempotency_key: str


def register(name: str) -> Callable[[ToolHandler], ToolHandler]:
    def decorator(func: ToolHandler) -> ToolHandler:
        _handlers[name] = func
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
