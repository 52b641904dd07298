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
