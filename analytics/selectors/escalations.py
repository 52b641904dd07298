"""Escalation outcomes: how many were opened, where on the ladder they were settled (the auto-fix
rate of each phase), how many reached a person, how fast people answered, and SLA breaches."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, F, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import Account
from analytics.selectors.common import bucket_key, in_window, ratio, trunc
from analytics.stats import percentile
from analytics.windows import Window
from escalations.models import LADDER, Escalation, PhaseRun
from escalations.selectors import breach_filter


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


def escalation_figures(*, account: Account, window: Window, now: datetime | None = None) -> EscalationFigures:
    now = now or timezone.now()
    escalations = in_window(Escalation.objects.filter(account=account), window)
    resolved_status = Escalation.Status.RESOLVED
    late = Q(first_response_due_at__lt=Coalesce("first_response_at", Value(now))) | Q(
        resolution_due_at__lt=Coalesce("resolved_at", Value(now))
    )
    # One scan for the counts, the triggers and where each was settled.
    counts = {"opened": 0, "resolved": 0, "human": 0, "breaches": 0}
    settled: dict[str, int] = {}
    by_trigger: dict[str, int] = {}
    for trigger, status, phase, n, human, breaches in (
        escalations.values("trigger", "status", "resolved_by_phase")
        .annotate(
            n=Count("id"),
            human=Count("id", filter=Q(queued_at__isnull=False)),
            breaches=Count("id", filter=late),
        )
        .values_list("trigger", "status", "resolved_by_phase", "n", "human", "breaches")
    ):
        counts["opened"] += n
        counts["human"] += human
        counts["breaches"] += breaches
        by_trigger[trigger] = by_trigger.get(trigger, 0) + n
        if status == resolved_status:
            counts["resolved"] += n
            if phase:
                settled[phase] = settled.get(phase, 0) + n
    minute = timedelta(minutes=1)
    first_responses = [
        d / minute
        for d in escalations.filter(queued_at__isnull=False, first_response_at__isnull=False)
        .annotate(d=F("first_response_at") - F("queued_at"))
        .values_list("d", flat=True)
    ]
    resolutions = [
        d / minute
        for d in escalations.filter(status=resolved_status, resolved_at__isnull=False)
        .annotate(d=F("resolved_at") - F("created_at"))
        .values_list("d", flat=True)
    ]
    # One run per escalation and phase (a unique constraint), so no DISTINCT is needed.
    reached = dict(
        PhaseRun.objects.filter(
            escalation__account=account, escalation__created_at__gte=window.start,
            escalation__created_at__lt=window.end,
        )
        .exclude(outcome=PhaseRun.Outcome.SKIPPED)
        .values("phase")
        .annotate(n=Count("id"))
        .values_list("phase", "n")
    )  # fmt: skip
    phases = [
        PhaseOutcome(
            phase=str(phase), label=phase.label,
            reached=reached.get(phase, 0), resolved=settled.get(phase, 0),
            auto_fix_rate=ratio(settled.get(phase, 0), reached.get(phase, 0)),
        )
        for phase in LADDER
    ]  # fmt: skip
    triggers = sorted(by_trigger.items(), key=lambda t: (-t[1], t[0]))
    opened, resolved, human = counts["opened"], counts["resolved"], counts["human"]
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
        sla_breaches=counts["breaches"],
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
    return Escalation.objects.filter(account=account).filter(breach_filter(now or timezone.now())).count()
