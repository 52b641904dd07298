"""Typed events about runs, sent to channel groups, and the publisher.

Producers (workers, the cancel view) send the id of the run that changed, never HTML:
each socket's consumer re-renders what its page shows.
"""

from __future__ import annotations

from typing import Literal, TypedDict

from conversations.realtime import group_publish


class RunEvent(TypedDict):
    """A run or one of its tasks changed: re-render it."""

    type: Literal["run.changed"]
    run_id: int


def account_runs_group(account_id: int) -> str:
    return f"runs.account.{account_id}"


def run_group(run_id: int) -> str:
    return f"runs.run.{run_id}"


def run_event(*, run_id: int) -> RunEvent:
    return {"type": "run.changed", "run_id": run_id}


def publish_run_changed(*, account_id: int, run_id: int) -> None:
    """Tell the account's Runs page and the run's page, from synchronous code.

    A plain Redis PUBLISH in the layer's wire format, as conversations.realtime does and
    for the same reason: the layer's async group_send funnels every worker thread
    through one event loop and lock.
    """
    event = run_event(run_id=run_id)
    for group in (account_runs_group(account_id), run_group(run_id)):
        group_publish(group, event)
