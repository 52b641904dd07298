"""Escalation outcomes: how many were opened, where on the ladder they were settled (the auto-fix
rate of each phase), how many reached a person, how fast people answered, and SLA breaches."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count
from django.utils import timezone

from accounts.models import Account
from analytics.selectors.common import bucket_key, escalation_model, in_window, ratio, trunc
from analytics.stats import percentile
from analytics.windows import Window


@dataclass(frozen=True)
class PhaseOutcome:
    phase: str
    label: str
    reached: int  # escalations in which the phase ran (not skipped)
    resolved: int  # settled by this phase
    auto_fix_rate: float | None  # resolved / reached


@dataclass(frozen=True)
class EscalationPoint:
    bucket: str
    opened: int
    resolved: int


@dataclass(frozen=True)
class EscalationFigures:
    opened: int
    resolved: int
    open_now: int  # of those opened in the window, not resolved yet
    reached_human: int
    human_rate: float | None  # share of the opened that reached a person
    first_response_p50_min: float | None  # queued -> first response, minutes
    first_response_p90_min: float | None
    resolution_p50_min: float | None  # opened -> resolved, minutes
    resolution_p90_min: float | None
    sla_breaches: int  # escalations with a late (or overdue) first response or resolution
    phases: list[PhaseOutcome]
    triggers: list[tuple[str, int]]
    series: list[EscalationPoint]


def escalations_available() -> bool:
    return escalation_model() is not None


def _minutes(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return (end - start).total_seconds() / 60


def escalation_figures(*, account: Account, window: Window, now: datetime | None = None) -> EscalationFigures:
    from escalations.models import LADDER, Escalation, PhaseRun

    now = now or timezone.now()
    escalations = in_window(Escalation.objects.filter(account=account), window)
    rows = list(
        escalations.values_list(
            "status", "queued_at", "first_response_at", "first_response_due_at", "resolved_at",
            "resolution_due_at", "created_at",
        )
    )  # fmt: skip
    resolved_status = Escalation.Status.RESOLVED
    first_responses = [m for r in rows if (m := _minutes(r[1], r[2])) is not None]
    resolutions = [m for r in rows if r[0] == resolved_status and (m := _minutes(r[6], r[4])) is not None]
    breaches = sum(
        1
        for _, _, responded, response_due, resolved, resolution_due, _ in rows
        if (response_due is not None and (responded or now) > response_due)
        or (resolution_due is not None and (resolved or now) > resolution_due)
    )
    reached = dict(
        PhaseRun.objects.filter(escalation__in=escalations)
        .exclude(outcome__in=[PhaseRun.Outcome.SKIPPED])
        .values("phase")
        .annotate(n=Count("escalation", distinct=True))
        .values_list("phase", "n")
    )
    settled = dict(
        escalations.filter(status=resolved_status)
        .exclude(resolved_by_phase="")
        .values("resolved_by_phase")
        .annotate(n=Count("id"))
        .values_list("resolved_by_phase", "n")
    )
    phases = [
        PhaseOutcome(
            phase=str(phase), label=phase.label,
            reached=reached.get(phase, 0), resolved=settled.get(phase, 0),
            auto_fix_rate=ratio(settled.get(phase, 0), reached.get(phase, 0)),
        )
        for phase in LADDER
    ]  # fmt: skip
    triggers = sorted(
        escalations.values("trigger").annotate(n=Count("id")).values_list("trigger", "n"),
        key=lambda t: (-t[1], t[0]),
    )
    opened = len(rows)
    resolved = sum(1 for r in rows if r[0] == resolved_status)
    human = sum(1 for r in rows if r[1] is not None)
    return EscalationFigures(
        opened=opened,
        resolved=resolved,
        open_now=opened - resolved,
        reached_human=human,
        human_rate=ratio(human, opened),
        first_response_p50_min=percentile(first_responses, 0.5),
        first_response_p90_min=percentile(first_responses, 0.9),
        resolution_p50_min=percentile(resolutions, 0.5),
        resolution_p90_min=percentile(resolutions, 0.9),
        sla_breaches=breaches,
        phases=phases,
        triggers=[
            (Escalation.Trigger(t).label if t in Escalation.Trigger.values else t, n) for t, n in triggers
        ],
        series=_series(escalations, window),
    )


def _series(escalations, window: Window) -> list[EscalationPoint]:
    opened = {
        bucket_key(r["bucket"]): r["n"]
        for r in escalations.annotate(bucket=trunc(window)).values("bucket").annotate(n=Count("id"))
    }
    resolved = {
        bucket_key(r["bucket"]): r["n"]
        for r in escalations.filter(resolved_at__isnull=False, resolved_at__lt=window.end)
        .annotate(bucket=trunc(window, "resolved_at"))
        .values("bucket")
        .annotate(n=Count("id"))
    }
    return [
        EscalationPoint(bucket=key, opened=opened.get(key, 0), resolved=resolved.get(key, 0))
        for key in sorted(set(opened) | set(resolved))
    ]


def sla_breaches_open(*, account: Account, now: datetime | None = None) -> int:
    """Escalations in the operators' queue past a due time they have not met (the SLA alert)."""
    from escalations.models import Escalation
    from escalations.selectors import breach_filter

    return Escalation.objects.filter(account=account).filter(breach_filter(now or timezone.now())).count()
