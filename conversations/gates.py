"""The conversations app's rollout gate: the multi-agent arm may not serve more users while its
replies fail more often than the legacy arm's. Registered in the rollout gate registry when the
app is ready, so rollout never reads conversation rows itself."""

from __future__ import annotations

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


def error_rate_gate(context: GateContext) -> GateResult:
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
        f"{percent(multi_failed, multi_total)} ({multi_failed}/{multi_total}) vs "
        f"{percent(legacy_failed, legacy_total)} ({legacy_failed}/{legacy_total})"
    )
    if multi_rate <= legacy_rate:
        return GateResult(key, label, True, figure, "The multi-agent arm fails no more often than legacy.")
    return GateResult(
        key, label, False, figure, f"The multi-agent error rate is above the legacy rate {window}."
    )


def register() -> None:
    gate_register(Gate("error_rate", "Error rate", error_rate_gate, position=10))
