"""One recovery entry point: each app registers its kinds of durable work, and
``recover_all`` (worker start, beat) re-sends every orphan of every kind.

Filled in the apps' ``AppConfig.ready()``, so this package never imports an app.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.db import close_old_connections

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class WorkKind:
    """``find`` lists the ids of orphans (cheap, no locks); ``resend`` queues another attempt
    for one, re-checking it first where that matters, and says whether it did."""

    name: str
    find: Callable[[], Iterable[int]]
    resend: Callable[[int], bool]


_KINDS: dict[str, WorkKind] = {}


def register(name: str, *, find: Callable[[], Iterable[int]], resend: Callable[[int], bool]) -> None:
    """Add (or replace: ``ready()`` may run more than once) a kind of work. Kinds recover
    in the order they were registered."""
    _KINDS[name] = WorkKind(name=name, find=find, resend=resend)


def kinds() -> list[str]:
    return list(_KINDS)


def recover(name: str) -> list[int]:
    """Re-send the orphans of one kind; returns the ids re-sent. Safe to run anywhere, any
    time, and twice at once: each kind's claim lets only one attempt proceed."""
    kind = _KINDS[name]
    resent = [pk for pk in kind.find() if kind.resend(pk)]
    if resent:
        logger.info("recovery re-sent %d orphaned %s: %s", len(resent), name, resent)
    return resent


def recover_all() -> dict[str, list[int]]:
    """Re-send the orphans of every registered kind; {kind: ids re-sent}. A kind that fails
    is logged and skipped, so one broken kind never holds up the others' recovery."""
    close_old_connections()  # a long-lived worker's connection may have gone stale
    found: dict[str, list[int]] = {}
    for name in list(_KINDS):
        try:
            found[name] = recover(name)
        except Exception:
            logger.exception("recovering %s failed", name)
            found[name] = []
    return found
