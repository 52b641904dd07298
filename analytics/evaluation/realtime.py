"""Typed events about evaluation runs and the channel group they go to (through ``realtime``)."""

from __future__ import annotations

from typing import Literal, TypedDict

import realtime


class EvaluationProgress(TypedDict):
    """A case of the run finished (``result_id``), or the run itself changed (0)."""

    type: Literal["evaluation.progress"]
    run_id: int
    result_id: int


def evaluation_run_group(run_id: int) -> str:
    return realtime.group_name("evaluation", "run", run_id)


def publish_evaluation_progress(*, run_id: int, result_id: int = 0) -> None:
    event: EvaluationProgress = {"type": "evaluation.progress", "run_id": run_id, "result_id": result_id}
    realtime.publish(evaluation_run_group(run_id), event)
