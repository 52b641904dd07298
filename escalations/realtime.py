"""Typed events for an account's operators, and the publisher.

Producers send data, never HTML: the queue consumer renders what each socket needs.
"""

from __future__ import annotations

from typing import Literal, TypedDict

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer


class EscalationEvent(TypedDict):
    """An escalation of the account was created or changed: pages showing it refresh."""

    type: Literal["escalation.changed"]
    escalation_id: int


def operators_group(account_id: int) -> str:
    return f"escalations.account.{account_id}"


def escalation_event(*, escalation_id: int) -> EscalationEvent:
    return {"type": "escalation.changed", "escalation_id": escalation_id}


def publish_escalation(account_id: int, escalation_id: int) -> None:
    """Tell the account's open queue pages; a few events a minute, so the layer's own
    group_send is enough (the chat stream has its own faster path)."""
    async_to_sync(get_channel_layer().group_send)(
        operators_group(account_id), escalation_event(escalation_id=escalation_id)
    )
