"""The start-run form: a fixed number of task rows, each a target (an agent or a
capability) and an input; blank rows are ignored. Validation is the service's."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import QueryDict

TASK_ROWS = 6


def run_spec_from_post(data: QueryDict) -> dict:
    """The keyword arguments of ``run_start`` from the form's fields."""
    tasks = []
    for index in range(TASK_ROWS):
        target = data.get(f"task-{index}-target", "").strip()
        text = data.get(f"task-{index}-input", "")
        if not target and not text.strip():
            continue
        kind, _, name = target.partition(":")
        tasks.append(
            {
                "agent": name if kind == "agent" else None,
                "capability": name if kind == "capability" else None,
                "description": "",
                "input": text,
            }
        )
    raw_agreement = data.get("min_agreement", "0.5").strip() or "0.5"
    try:
        min_agreement = float(raw_agreement)
    except ValueError:
        raise ValidationError({"min_agreement": [f"{raw_agreement!r} is not a number."]}) from None
    mode = data.get("mode", "")
    return {
        "mode": mode,
        "tasks": tasks,
        "request": data.get("request", ""),
        "strategy": data.get("strategy", "") if mode == "hierarchical" else "",
        "min_agreement": min_agreement,
        "strict": data.get("strict") == "on",
        "aggregator": data.get("aggregator", "") if mode == "hierarchical" else "",
        "judge": data.get("judge", "") if mode == "consensus" else "",
    }
