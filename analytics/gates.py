"""The analytics app's rollout gates, registered in the rollout gate registry when the app is
ready: the hand-off rate stays below a limit, and no critical alert is open."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from accounts.models import Account
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


def register() -> None:
    gate_register(
        Gate("handoff_rate", "Hand-off rate", handoff_rate_gate, defaults={"max": 0.2}, position=20)
    )
    gate_register(Gate("no_critical_alerts", "No open critical alerts", no_critical_alerts_gate, position=40))
