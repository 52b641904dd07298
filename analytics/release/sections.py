"""The Rollout page's "Guarded rollout" card (a section analytics adds to the multi-agent flag's
page): whether the guard is watching, its latest look per metric, the last automatic rollback and
the evidence chart (both arms' rate of the metric that decided, look by look)."""

from __future__ import annotations

from django.http import HttpRequest

from accounts.models import Account
from analytics.charts import BLUE, GREY, RED, _line
from analytics.release.guardrails import GUARDED_PHASES, guarded_flag, phase_started_at
from analytics.release.models import RolloutGuardLook
from analytics.release.sequential import GuardConfig, p_value_text
from rollout.decision import MULTI_AGENT_FLAG
from rollout.models import Flag
from rollout.pages import FlagPageSection

TEMPLATE = "analytics/_guarded_rollout.html"
CHART_POINTS = 120  # at most this many looks drawn (a look a minute: two hours at full detail)


def _looks_of_phase(*, account: Account, flag: Flag, started) -> list[RolloutGuardLook]:
    looks = list(
        RolloutGuardLook.objects.filter(account=account, flag=flag, phase_started_at=started).order_by(
            "looked_at", "id"
        )
    )
    step = max(1, len(looks) // CHART_POINTS)
    # Thinned evenly, always keeping the last look (the one that decided, when one did).
    return looks[::step] if looks[-1:] == looks[::step][-1:] else [*looks[::step], looks[-1]]


def _percent(rate: float | None) -> str:
    return "n/a" if rate is None else f"{100 * rate:.1f}%"


def _metric_row(metric: dict) -> dict:
    return metric | {
        "p_text": p_value_text(metric["p_value"]),
        "legacy_text": _percent(metric["legacy_rate"]),
        "multi_text": _percent(metric["multi_rate"]),
    }


def guard_chart(looks: list[RolloutGuardLook], metric_key: str) -> dict:
    """Both arms' rate of one metric, and its always-valid p-value, at every look of a phase."""
    labels, legacy, multi, p_values = [], [], [], []
    label = metric_key
    for look in looks:
        metric = next((m for m in look.metrics if m["key"] == metric_key), None)
        if metric is None:
            continue
        label = metric["label"]
        labels.append(f"{look.looked_at:%m-%d %H:%M}")
        legacy.append(metric["legacy_rate"])
        multi.append(metric["multi_rate"])
        p_values.append(metric["p_value"])
    datasets = [
        {"label": f"Legacy {label}", "data": legacy, "borderColor": GREY, "backgroundColor": GREY,
         "yAxisID": "y"},
        {"label": f"Multi-agent {label}", "data": multi, "borderColor": BLUE, "backgroundColor": BLUE,
         "yAxisID": "y"},
        {"label": "Always-valid p-value", "data": p_values, "borderColor": RED, "backgroundColor": RED,
         "borderDash": [4, 4], "yAxisID": "y2"},
    ]  # fmt: skip
    p_axis = {"max": 1, "title": {"display": True, "text": "p-value"}}
    return _line(labels, datasets, y_percent=True, y2=p_axis)


def guarded_rollout_section(*, account: Account, flag: Flag, request: HttpRequest) -> FlagPageSection:
    if flag.key != MULTI_AGENT_FLAG:
        return FlagPageSection(TEMPLATE, context={"guard_applies": False})
    watching = guarded_flag(account=account) is not None
    last_rollback = (
        RolloutGuardLook.objects.filter(account=account, flag=flag, rolled_back=True)
        .select_related("flag_change")
        .order_by("-looked_at", "-id")
        .first()
    )
    started = phase_started_at(flag=flag, account=account) if watching else None
    if started is None and last_rollback is not None:
        started = last_rollback.phase_started_at  # show the evidence of the rollback
    looks = _looks_of_phase(account=account, flag=flag, started=started) if started else []
    latest = looks[-1] if looks else None
    chart_metric = "error_rate"
    if latest is not None and latest.rolled_back:
        chart_metric = next((m["key"] for m in latest.metrics if m["regression"]), chart_metric)
    config = GuardConfig()
    return FlagPageSection(
        template_name=TEMPLATE,
        context={
            "guard_applies": True,
            "watching": watching,
            "guarded_phases": sorted(GUARDED_PHASES),
            "phase_started_at": started,
            "latest_look": latest,
            "latest_metrics": [_metric_row(m) for m in (latest.metrics if latest else [])],
            "last_rollback": last_rollback,
            "alpha": config.alpha,
            "alpha_per_metric": config.alpha_per_metric,
            "chart": guard_chart(looks, chart_metric) if looks else None,
            "chart_looks": len(looks),
        },
    )
