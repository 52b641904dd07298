"""Typed events for an account's operators, and their channel group.

Producers send data, never HTML, through the ``realtime`` transport: the queue consumer
renders what each socket needs.
"""

from __future__ import annotations

from typing import Literal, TypedDict

import realtime


class EscalationEvent(TypedDict):
    """An escalation of the account was created or changed: pages showing it refresh."""

    type: Literal["escalation.changed"]
    escalation_id: int


def operators_group(account_id: int) -> str:
    return realtime.group_name("escalations", "account", account_id)


def escalation_event(*, escalation_id: int) -> EscalationEvent:
    return {"type": "escalation.changed", "escalation_id": escalation_id}


def publish_escalation(account_id: int, escalation_id: int) -> None:
    """Tell the account's open queue pages."""
    realtime.publish(operators_group(account_id), escalation_event(escalation_id=escalation_id))
