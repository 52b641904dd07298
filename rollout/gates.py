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

from django.db.models import Count, Q
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


GATES: dict[str, Gate] = {}


def gate_register(gate: Gate) -> Gate:
    GATES[gate.key] = gate
    return gate


def gates_evaluate(*, account: Account, config: dict | None) -> list[GateResult]:
    """Every enabled gate's result for the account, in registration order."""
    config = config or {}
    window_days = int(config.get("window_days", DEFAULT_WINDOW_DAYS))
    since = timezone.now() - timedelta(days=window_days)
    results = []
    for gate in GATES.values():
        settings = {"enabled": True, **gate.defaults, **(config.get(gate.key) or {})}
        if not settings["enabled"]:
            continue
        context = GateContext(account=account, since=since, window_days=window_days, config=settings)
        results.append(gate.check(context))
    return results


# --- figures per arm -----------------------------------------------------------------------


def _arm_conversations(account: Account, arm: str):
    from conversations.models import Conversation

    conversations = Conversation.objects.filter(account=account, arm=arm)
    if arm == Conversation.Arm.MULTI_AGENT:
        # Conversations with one chosen agent are outside the rollout.
        conversations = conversations.filter(routed=True)
    return conversations


def arm_reply_figures(*, account: Account, arm: str, since: datetime) -> tuple[int, int]:
    """(failed replies, finished replies) of an arm in the window. Shadow replies count for the
    multi-agent arm: that is what the shadow phase is for."""
    from conversations.models import Message

    figures = Message.objects.filter(
        conversation__in=_arm_conversations(account, arm),
        role=Message.Role.ASSISTANT,
        status__in=[Message.Status.COMPLETE, Message.Status.FAILED],
        created_at__gte=since,
    ).aggregate(total=Count("id"), failed=Count("id", filter=Q(status=Message.Status.FAILED)))
    return figures["failed"], figures["total"]


def handoff_figures(*, account: Account, since: datetime) -> tuple[int, int]:
    """(multi-agent conversations with at least one hand-off, multi-agent conversations) in the window:
    the analytics pages' hand-off rate, counted from the rows themselves (not the minute-old aggregates)."""
    from analytics.selectors.handoffs import handoff_rate
    from analytics.windows import Window

    total, with_handoff = handoff_rate(account=account, window=Window(since, timezone.now(), "custom"))
    return with_handoff, total


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%"


# --- the built-in gates --------------------------------------------------------------------


def error_rate_gate(context: GateContext) -> GateResult:
    from conversations.models import Conversation

    key, label = "error_rate", "Error rate: multi-agent <= legacy"
    multi_failed, multi_total = arm_reply_figures(
        account=context.account, arm=Conversation.Arm.MULTI_AGENT, since=context.since
    )
    legacy_failed, legacy_total = arm_reply_figures(
        account=context.account, arm=Conversation.Arm.LEGACY, since=context.since
    )
    window = f"in the last {context.window_days} days"
    if not multi_total or not legacy_total:
        missing = "multi-agent" if not multi_total else "legacy"
        return GateResult(key, label, False, "no data", f"No finished {missing} replies {window} to compare.")
    multi_rate, legacy_rate = multi_failed / multi_total, legacy_failed / legacy_total
    figure = (
        f"{_pct(multi_failed, multi_total)} ({multi_failed}/{multi_total}) vs "
        f"{_pct(legacy_failed, legacy_total)} ({legacy_failed}/{legacy_total})"
    )
    if multi_rate <= legacy_rate:
        return GateResult(key, label, True, figure, "The multi-agent arm fails no more often than legacy.")
    return GateResult(
        key, label, False, figure, f"The multi-agent error rate is above the legacy rate {window}."
    )


def handoff_rate_gate(context: GateContext) -> GateResult:
    limit = float(context.config["max"])
    key, label = "handoff_rate", f"Hand-off rate < {limit:.0%}"
    with_handoff, total = handoff_figures(account=context.account, since=context.since)
    if not total:
        return GateResult(
            key,
            label,
            False,
            "no data",
            f"No multi-agent conversations in the last {context.window_days} days.",
        )
    figure = f"{_pct(with_handoff, total)} ({with_handoff}/{total} conversations)"
    if with_handoff / total < limit:
        return GateResult(key, label, True, figure, "Few enough conversations are handed off.")
    return GateResult(key, label, False, figure, f"The hand-off rate is not below {limit:.0%}.")


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


gate_register(Gate("error_rate", "Error rate", error_rate_gate))
gate_register(Gate("handoff_rate", "Hand-off rate", handoff_rate_gate, defaults={"max": 0.2}))
gate_register(Gate("routing_accuracy", "Routing accuracy", routing_accuracy_gate, defaults={"min": 0.9}))
