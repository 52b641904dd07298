"""The analytics app's rollout gate: a flag may not serve more users while a critical alert is
open. Registered in the rollout gate registry when the app is ready."""

from __future__ import annotations

from analytics.selectors.alerts import critical_alerts_open


def no_critical_alerts_gate(context):
    from rollout.gates import GateResult

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
    from rollout.gates import Gate, gate_register

    gate_register(Gate("no_critical_alerts", "No open critical alerts", no_critical_alerts_gate))
