"""Chart.js configurations built from the figures; the template hands each to the browser as JSON
(``json_script``), and ``analytics/charts.js`` draws it. The same numbers are in a table beside
every chart."""

from __future__ import annotations

from analytics.selectors.agents import AgentFigures
from analytics.selectors.cohorts import CohortFigures
from analytics.selectors.escalations import EscalationFigures
from analytics.selectors.handoffs import HandoffFigures
from analytics.selectors.overview import OverviewFigures
from analytics.selectors.routing import RoutingFigures

BLUE, VIOLET, GREEN, ORANGE, RED, GREY = "#2f5bd3", "#7c3aed", "#039855", "#dc6803", "#d92d20", "#98a2b3"


def _line(labels, datasets, *, y_percent=False, y2=None) -> dict:
    scales = {"y": {"beginAtZero": True, "ticks": {"format": {"style": "percent"}} if y_percent else {}}}
    if y2:
        scales["y2"] = {"beginAtZero": True, "position": "right", "grid": {"drawOnChartArea": False}, **y2}
    return {
        "type": "line",
        "data": {"labels": labels, "datasets": datasets},
        "options": {"responsive": True, "maintainAspectRatio": False, "interaction": {"mode": "index"},
                    "scales": scales},
    }  # fmt: skip


def _bar(labels, datasets, *, horizontal=False, percent=False, stacked=False) -> dict:
    value_axis = "x" if horizontal else "y"
    ticks = {"format": {"style": "percent"}} if percent else {}
    return {
        "type": "bar",
        "data": {"labels": labels, "datasets": datasets},
        "options": {
            "responsive": True, "maintainAspectRatio": False, "indexAxis": "y" if horizontal else "x",
            "scales": {value_axis: {"beginAtZero": True, "ticks": ticks, "stacked": stacked},
                       ("y" if horizontal else "x"): {"stacked": stacked}},
        },
    }  # fmt: skip


def _ds(label: str, data: list, color: str) -> dict:
    return {"label": label, "data": data, "backgroundColor": color, "borderColor": color}


def _short(bucket: str) -> str:
    # "2026-11-29T14:00" -> "11-29 14:00" for hours, "11-29" for days
    return bucket[5:16].replace("T", " ").removesuffix(" 00:00")


def overview_charts(figures: OverviewFigures) -> dict[str, dict]:
    h = figures.handoff_series
    c = figures.cost_series
    return {
        "chart_traffic": _line(
            [_short(p.bucket) for p in h],
            [
                {"label": "Multi-agent conversations", "data": [p.conversations for p in h],
                 "borderColor": BLUE, "backgroundColor": BLUE, "yAxisID": "y"},
                {"label": "Hand-off rate", "data": [p.rate for p in h], "borderColor": VIOLET,
                 "backgroundColor": VIOLET, "yAxisID": "y2"},
            ],
            y2={"ticks": {"format": {"style": "percent"}}},
        ),
        "chart_quality": _line(
            [_short(p.bucket) for p in c],
            [
                {"label": "p95 latency (ms)", "data": [p.latency_p95_ms for p in c], "borderColor": ORANGE,
                 "backgroundColor": ORANGE, "yAxisID": "y"},
                {"label": "Error rate", "data": [p.error_rate for p in c], "borderColor": RED,
                 "backgroundColor": RED, "yAxisID": "y2"},
            ],
            y2={"ticks": {"format": {"style": "percent"}}},
        ),
        "chart_cost": _bar(
            [_short(p.bucket) for p in c],
            [{"label": "Cost (USD)", "data": [round(p.cost_usd, 4) for p in c], "backgroundColor": GREEN}],
        ),
    }  # fmt: skip


def handoff_charts(figures: HandoffFigures) -> dict[str, dict]:
    labels: dict[str, str] = {}
    flows = []
    for path in figures.paths:
        source = f"from:{path.source.slug or '-'}"
        target = f"to:{path.target.slug or '-'}"
        labels[source] = path.source.name
        labels[target] = f"→ {path.target.name}"
        flows.append({"from": source, "to": target, "flow": path.count})
    s = figures.series
    return {
        "chart_paths": {
            "type": "sankey",
            "data": {"datasets": [{"label": "Hand-offs", "data": flows, "labels": labels,
                                   "colorFrom": BLUE, "colorTo": VIOLET, "colorMode": "gradient",
                                   "size": "max", "nodePadding": 14}]},
            "options": {"responsive": True, "maintainAspectRatio": False},
        },
        "chart_handoff_series": _line(
            [_short(p.bucket) for p in s],
            [
                {"label": "Hand-offs", "data": [p.handoffs for p in s], "borderColor": BLUE,
                 "backgroundColor": BLUE, "yAxisID": "y"},
                {"label": "Hand-off rate", "data": [p.rate for p in s], "borderColor": VIOLET,
                 "backgroundColor": VIOLET, "yAxisID": "y2"},
            ],
            y2={"ticks": {"format": {"style": "percent"}}},
        ),
    }  # fmt: skip


def routing_charts(figures: RoutingFigures) -> dict[str, dict]:
    return {
        "chart_evaluations": _line(
            [e.created_at.strftime("%m-%d %H:%M") for e in figures.evaluations],
            [{"label": "Accuracy (labelled evaluation)", "data": [e.accuracy for e in figures.evaluations],
              "borderColor": GREEN, "backgroundColor": GREEN}],
            y_percent=True,
        ),
        "chart_live_routing": _bar(
            [r.agent.name for r in figures.per_agent],
            [_ds("Kept the conversation past its first turn", [r.accuracy for r in figures.per_agent], BLUE)],
            horizontal=True, percent=True,
        ),
    }  # fmt: skip


def agent_charts(figures: AgentFigures) -> dict[str, dict]:
    agents = figures.per_agent
    models = figures.per_model
    return {
        "chart_utilisation": _bar(
            [r.label for r in agents],
            [
                _ds("Share of replies", [r.reply_share for r in agents], BLUE),
                {"label": "Share of first routings", "data": [r.first_routing_share for r in agents],
                 "backgroundColor": VIOLET},
            ],
            horizontal=True, percent=True,
        ),
        "chart_latency": _bar(
            [r.label for r in agents],
            [
                _ds("p50 latency (ms)", [r.latency_p50_ms for r in agents], GREEN),
                _ds("p95 latency (ms)", [r.latency_p95_ms for r in agents], ORANGE),
            ],
            horizontal=True,
        ),
        "chart_model_cost": _bar(
            [r.label for r in models],
            [_ds("Cost (USD)", [round(r.cost_usd, 4) for r in models], GREEN)],
            horizontal=True,
        ),
    }  # fmt: skip


def cohort_charts(figures: CohortFigures) -> dict[str, dict]:
    shares = [c for c in figures.comparisons if c.unit == "share"]
    return {
        "chart_cohort_shares": _bar(
            [c.label for c in shares],
            [
                {"label": "Legacy", "data": [c.legacy for c in shares], "backgroundColor": GREY},
                {"label": "Multi-agent", "data": [c.multi_agent for c in shares], "backgroundColor": BLUE},
            ],
            horizontal=True, percent=True,
        ),
        "chart_cohort_intervals": _bar(
            [c.label for c in shares],
            [{"label": "Multi-agent minus legacy, 95% interval",
              "data": [[c.difference.low, c.difference.high] if c.difference.low is not None else None
                       for c in shares],
              "backgroundColor": [RED if c.difference.significant else GREY for c in shares]}],
            horizontal=True, percent=True,
        ),
    }  # fmt: skip


def escalation_charts(figures: EscalationFigures) -> dict[str, dict]:
    phases = figures.phases
    s = figures.series
    return {
        "chart_phases": _bar(
            [p.label for p in phases],
            [
                _ds(
                    "Auto-fix rate (settled of those that reached the phase)",
                    [p.auto_fix_rate for p in phases],
                    GREEN,
                )
            ],
            percent=True,
        ),
        "chart_escalation_series": _line(
            [_short(p.bucket) for p in s],
            [_ds("Opened", [p.opened for p in s], ORANGE), _ds("Resolved", [p.resolved for p in s], GREEN)],
        ),
    }
