from django import template

from orchestration.models import WorkflowRun
from orchestration.selectors import run_progress

register = template.Library()


@register.simple_tag
def run_progress_of(run: WorkflowRun) -> tuple[int, int]:
    return run_progress(run)


@register.filter
def status_label(status: str) -> str:
    return (status or "pending").replace("_", " ").capitalize()


@register.filter
def status_counts(counts: dict[str, int]) -> str:
    """{"completed": 2, "failed": 1, "pending": 0} -> "2 completed, 1 failed"."""
    return ", ".join(f"{n} {status_label(s).lower()}" for s, n in counts.items() if n)
