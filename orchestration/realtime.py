"""Typed events about runs, and the channel groups they are sent to.

Producers (workers, the cancel view) send the id of the run that changed, never HTML, through
the ``realtime`` transport: each socket's consumer re-renders what its page shows.
"""

from __future__ import annotations

from typing import Literal, TypedDict

import realtime


class RunEvent(TypedDict):
    """A run or one of its tasks changed: re-render it."""

    type: Literal["run.changed"]
    run_id: int


def account_runs_group(account_id: int) -> str:
    return realtime.group_name("runs", "account", account_id)


def run_group(run_id: int) -> str:
    return realtime.group_name("runs", "run", run_id)


def run_event(*, run_id: int) -> RunEvent:
    return {"type": "run.changed", "run_id": run_id}


def publish_run_changed(*, account_id: int, run_id: int) -> None:
    """Tell the account's Runs page and the run's page, from synchronous code."""
    realtime.publish_many([account_runs_group(account_id), run_group(run_id)], run_event(run_id=run_id))
