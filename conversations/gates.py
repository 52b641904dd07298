"""The conversations app's rollout gate: the multi-agent arm may not serve more users while its
replies fail significantly more often than the legacy arm's. Registered in the rollout gate
registry when the app is ready, so rollout never reads conversation rows itself.

"Significantly": a one-sided two-proportion z-test (pooled rate under the null hypothesis that both
arms fail alike) with p < 0.05 by default (the gate's ``alpha`` setting). A raw gap is not enough:
with a 2-3% error rate, a few hundred replies per arm differ by a point by chance alone. The gate is
one fixed-sample test when someone asks to serve more users, so a plain z-test is right here; the
guard that looks every minute during canary uses the mSPRT instead (analytics.release.sequential).
"""

from __future__ import annotations

import math
from datetime import datetime

from django.db.models import Count, Q

from accounts.models import Account
from conversations.models import Conversation, Message
from rollout.gates import Gate, GateContext, GateResult, gate_register, percent


def _arm_conversations(account: Account, arm: str):
    conversations = Conversation.objects.filter(account=account, arm=arm)
    if arm == Conversation.Arm.MULTI_AGENT:
        # Conversations with one chosen agent are outside the rollout.
        conversations = conversations.filter(routed=True)
    return conversations


def arm_reply_figures(*, account: Account, arm: str, since: datetime) -> tuple[int, int]:
    """(failed replies, finished replies) of an arm in the window. Shadow replies count for the
    multi-agent arm: that is what the shadow phase is for."""
    figures = Message.objects.filter(
        conversation__in=_arm_conversations(account, arm),
        role=Message.Role.ASSISTANT,
        status__in=[Message.Status.COMPLETE, Message.Status.FAILED],
        created_at__gte=since,
    ).aggregate(total=Count("id"), failed=Count("id", filter=Q(status=Message.Status.FAILED)))
    return figures["failed"], figures["total"]


def regression_p_value(
    *, multi_failed: int, multi_total: int, legacy_failed: int, legacy_total: int
) -> float:
    """One-sided p-value that the multi-agent arm fails more often than legacy (pooled z-test)."""
    pooled = (multi_failed + legacy_failed) / (multi_total + legacy_total)
    variance = pooled * (1 - pooled) * (1 / multi_total + 1 / legacy_total)
    gap = multi_failed / multi_total - legacy_failed / legacy_total
    if variance == 0:  # no failures at all, or nothing but failures: the arms are alike
        return 1.0
    z = gap / math.sqrt(variance)
    return 0.5 * math.erfc(z / math.sqrt(2))


def error_rate_gate(context: GateContext) -> GateResult:
    alpha = float(context.config["alpha"])
    key, label = "error_rate", "Error rate: multi-agent not significantly worse than legacy"
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
    p = regression_p_value(
        multi_failed=multi_failed,
        multi_total=multi_total,
        legacy_failed=legacy_failed,
        legacy_total=legacy_total,
    )
    figure = (
        f"{percent(multi_failed, multi_total)} ({multi_failed}/{multi_total}) vs "
        f"{percent(legacy_failed, legacy_total)} ({legacy_failed}/{legacy_total})"
    )
    rates = (
        f"multi-agent {percent(multi_failed, multi_total)} ({multi_failed}/{multi_total} replies failed) "
        f"vs legacy {percent(legacy_failed, legacy_total)} ({legacy_failed}/{legacy_total}) {window}, "
        f"one-sided p = {p:.3g}"
    )
    if p >= alpha:
        return GateResult(
            key,
            label,
            True,
            figure,
            f"The multi-agent arm fails no more often than legacy beyond chance: {rates}.",
        )
    return GateResult(
        key,
        label,
        False,
        figure,
        f"The multi-agent arm fails significantly more often (p < {alpha:g}): {rates}.",
    )


def register() -> None:
    gate_register(Gate("error_rate", "Error rate", error_rate_gate, defaults={"alpha": 0.05}, position=10))
