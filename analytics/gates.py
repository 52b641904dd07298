"""The analytics app's rollout gates, registered in the rollout gate registry when the app is
ready: the hand-off rate stays below a limit, no critical alert is open, and the routing accuracy
of the latest evaluation run (replacing rollout's gate, which needs ``eval_routing``)."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from accounts.models import Account
from agents.models import RoutingEvaluation
from analytics.evaluation.selectors import evaluation_latest
from analytics.selectors.alerts import critical_alerts_open
from analytics.selectors.handoffs import handoff_rate
from analytics.windows import Window
from rollout.gates import Gate, GateContext, GateResult, gate_register, percent


def handoff_counts(*, account: Account, since: datetime) -> tuple[int, int]:
    """(multi-agent conversations with at least one hand-off, multi-agent conversations) in the window:
    the analytics pages' hand-off rate, counted from the rows themselves (not the minute-old aggregates)."""
    total, with_handoff = handoff_rate(account=account, window=Window(since, timezone.now(), "custom"))
    return with_handoff, total


def handoff_rate_gate(context: GateContext) -> GateResult:
    limit = float(context.config["max"])
    key, label = "handoff_rate", f"Hand-off rate < {limit:.0%}"
    with_handoff, total = handoff_counts(account=context.account, since=context.since)
    if not total:
        return GateResult(
            key,
            label,
            False,
            "no data",
            f"No multi-agent conversations in the last {context.window_days} days.",
        )
    figure = f"{percent(with_handoff, total)} ({with_handoff}/{total} conversations)"
    if with_handoff / total < limit:
        return GateResult(key, label, True, figure, "Few enough conversations are handed off.")
    return GateResult(key, label, False, figure, f"The hand-off rate is not below {limit:.0%}.")


def no_critical_alerts_gate(context: GateContext) -> GateResult:
    key, label = "no_critical_alerts", "No open critical alerts"
    alerts = critical_alerts_open(account=context.account)
    if not alerts:
        return GateResult(key, label, True, "0 open", "No critical alert is firing.")
    names = "; ".join(alert.message for alert in alerts[:3])
    return GateResult(
        key,
        label,
        False,
        f"{len(alerts)} open",
        f"Critical alert{'s' if len(alerts) > 1 else ''} firing: {names}.",
    )


def routing_accuracy_gate(context: GateContext) -> GateResult:
    """Routing accuracy of the account's latest completed evaluation run; an account that has
    only ever run ``eval_routing`` is judged by that, when it is newer."""
    minimum = float(context.config["min"])
    key, label = "routing_accuracy", f"Routing accuracy >= {minimum:.0%}"
    latest = evaluation_latest(account=context.account)
    labelled = (
        RoutingEvaluation.objects.filter(account=context.account).order_by("-created_at", "-id").first()
    )
    if labelled is not None and (latest is None or labelled.created_at > latest.finished_at):
        accuracy, figure = labelled.accuracy, f"{labelled.accuracy:.1%} on {labelled.total} labelled queries"
        figure += f" (eval_routing, {labelled.created_at:%Y-%m-%d})"
    elif latest is not None and latest.routing_accuracy is not None:
        accuracy = latest.routing_accuracy
        figure = (
            f"{accuracy:.1%} on {latest.routing_total} cases (evaluation run #{latest.run_id} of "
            f"{latest.dataset} v{latest.dataset_version}, {latest.finished_at:%Y-%m-%d})"
        )
    else:
        reason = "No evaluation run with routing cases yet: run an evaluation (Analytics > Evaluations)."
        return GateResult(key, label, False, "no evaluation", reason)
    if accuracy >= minimum:
        return GateResult(key, label, True, figure, "The latest evaluation routes well enough.")
    return GateResult(key, label, False, figure, f"The latest routing accuracy is below {minimum:.0%}.")


def register() -> None:
    # Same key as rollout's built-in gate: this one replaces it (a flag's settings still apply).
    gate_register(
        Gate(
            "routing_accuracy", "Routing accuracy", routing_accuracy_gate, defaults={"min": 0.9}, position=30
        )
    )
    gate_register(
        Gate("handoff_rate", "Hand-off rate", handoff_rate_gate, defaults={"max": 0.2}, position=20)
    )
    gate_register(Gate("no_critical_alerts", "No open critical alerts", no_critical_alerts_gate, position=40))
