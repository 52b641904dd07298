from django import template

from orchestration.models import WorkflowRun
from orchestration.selectors import estimate_error, run_progress_parts
from orchestration.voting import vote_groups

register = template.Library()


@register.simple_tag
def run_progress_parts_of(run: WorkflowRun) -> dict[str, int]:
    return run_progress_parts(run)


@register.filter
def run_estimate_error(run: WorkflowRun) -> float | None:
    """How far the run's time estimate was from its time, as a share (0.25 = 25% off)."""
    if run.duration_seconds is None or run.status == WorkflowRun.Status.CANCELLED:
        return None
    return estimate_error(estimated=run.estimated_seconds, actual=run.duration_seconds)


@register.filter
def grouped_votes(votes: list[dict]) -> list[dict]:
    return vote_groups(votes or [])


@register.filter
def percent_of(part: int, whole: int) -> float:
    return round(100 * part / whole, 2) if whole else 0.0


@register.filter
def status_label(status: str) -> str:
    return (status or "pending").replace("_", " ").capitalize()


@register.filter
def status_counts(counts: dict[str, int]) -> str:
    """{"completed": 2, "failed": 1, "pending": 0} -> "2 completed, 1 failed"."""
    return ", ".join(f"{n} {status_label(s).lower()}" for s, n in counts.items() if n)
