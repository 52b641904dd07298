"""The replies an agent wrote lately, for its page.

Replies are conversations' records, and conversations sits above agents, so agents cannot read
them: the conversations app registers the reader here in its ``AppConfig.ready()``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser

from agents.models import AgentInstance


@dataclass(frozen=True)
class AgentReply:
    """One reply of the agent. ``url`` and ``excerpt`` are set only when the viewer may open
    the conversation it is in; otherwise the page says when it was written and no more."""

    created_at: datetime
    status: str
    url: str | None
    excerpt: str | None


RecentRepliesReader = Callable[..., list[AgentReply]]
_reader: list[RecentRepliesReader] = []


def agent_recent_replies_register(reader: RecentRepliesReader) -> None:
    """Install the reader (called ``reader(agent=..., user=..., limit=...)``); a second call
    replaces it, so a re-run ``ready()`` does not stack readers."""
    _reader[:] = [reader]


def agent_recent_replies(
    *, agent: AgentInstance, user: AbstractBaseUser, limit: int = 20
) -> list[AgentReply]:
    if not _reader:
        raise LookupError("No reader of agents' replies is registered (the conversations app does it).")
    return _reader[0](agent=agent, user=user, limit=limit)
