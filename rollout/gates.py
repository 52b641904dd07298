"""Gates: what must hold, in real data per arm, before a flag serves more users.

A gate is a ``Gate`` in the ``GATES`` registry: a key, a label, default settings and a check
that reads the account's data and returns a ``GateResult`` with its figure. Another app adds
one with ``gate_register(Gate(...))`` (for example from its ``AppConfig.ready``). Each flag's
``gates`` JSON may turn a gate off (``{"<key>": {"enabled": false}}``), change its threshold,
or change the window (``{"window_days": 7}``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

from django.utils import timezone

from accounts.models import Account

DEFAULT_WINDOW_DAYS = 7


@dataclass(frozen=True)
class GateResult:
    key: str
    label: str
    passed: bool
    figure: str  # the measured value, for people: "4.0% vs 6.2%"
    reason: str  # why it passed or failed, in words

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class GateContext:
    account: Account
    since: datetime
    window_days: int
    config: dict = field(default_factory=dict)  # this gate's settings (defaults merged in)


@dataclass(frozen=True)
class Gate:
    key: str
    label: str
    check: Callable[[GateContext], GateResult]
    defaults: dict = field(default_factory=dict)
    position: int = 100  # where the gate is listed among the others


GATES: dict[str, Gate] = {}


def gate_register(gate: Gate) -> Gate:
    GATES[gate.key] = gate
    return gate


def gates_evaluate(*, account: Account, config: dict | None) -> list[GateResult]:
    """Every enabled gate's result for the account, in the gates' listed order."""
    config = config or {}
    window_days = int(config.get("window_days", DEFAULT_WINDOW_DAYS))
    since = timezone.now() - timedelta(days=window_days)
    results = []
    for gate in sorted(GATES.values(), key=lambda gate: gate.position):
        settings = {"enabled": True, **gate.defaults, **(config.get(gate.key) or {})}
        if not settings["enabled"]:
            continue
        context = GateContext(account=account, since=since, window_days=window_days, config=settings)
        results.append(gate.check(context))
    return results


def percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%"


# --- the built-in gate; conversations and analytics register theirs when ready -------------


def routing_accuracy_gate(context: GateContext) -> GateResult:
    from agents.models import RoutingEvaluation

    minimum = float(context.config["min"])
    key, label = "routing_accuracy", f"Routing accuracy >= {minimum:.0%}"
    latest = RoutingEvaluation.objects.filter(account=context.account).order_by("-created_at", "-id").first()
    if latest is None:
        return GateResult(
            key, label, False, "no evaluation", "No routing evaluation yet: run manage.py eval_routing."
        )
    figure = f"{latest.accuracy:.1%} on {latest.total} labelled queries ({latest.created_at:%Y-%m-%d})"
    if latest.accuracy >= minimum:
        return GateResult(key, label, True, figure, "The latest labelled evaluation routes well enough.")
    return GateResult(key, label, False, figure, f"The latest routing accuracy is below {minimum:.0%}.")


gate_register(
    Gate("routing_accuracy", "Routing accuracy", routing_accuracy_gate, defaults={"min": 0.9}, position=30)
)
