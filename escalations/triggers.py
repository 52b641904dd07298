"""What sets an escalation off, read from a finished turn or a rating.

Called once a reply is final (``conversations.replies`` queues ``inspect_reply``) and when
the user rates a reply; each finding opens at most one escalation per (trigger, message).
"""

from __future__ import annotations

from dataclasses import dataclass

from conversations.models import GuardrailEvent, Message
from escalations import detection
from escalations.ladder import ladder_cut_short
from escalations.models import Escalation
from escalations.selectors import conversation_is_hidden, escalation_active_in_conversation
from escalations.services import (
    escalation_open,
    escalation_user_replied,
    pattern_feedback_record,
    publish_on_commit,
)

Trigger = Escalation.Trigger


@dataclass(frozen=True)
class Finding:
    trigger: str
    reason: str
    message: Message


def reply_findings(reply: Message) -> list[Finding]:
    """Every reason to escalate this finished reply, most telling first."""
    findings = []
    question = reply.reply_to
    if question is not None and detection.asks_for_person(question.content):
        findings.append(Finding(Trigger.ASKED_FOR_PERSON, "The user asked for a person.", question))
    turn = getattr(reply, "turn", None)
    if turn is not None:
        for event in turn.guardrail_events.filter(
            kind__in=[
                GuardrailEvent.Kind.STEP_LIMIT,
                GuardrailEvent.Kind.PING_PONG,
                GuardrailEvent.Kind.REPEATED_EDGE,
            ]
        ):
            trigger = (
                Trigger.STEP_LIMIT if event.kind == GuardrailEvent.Kind.STEP_LIMIT else Trigger.HANDOFF_LOOP
            )
            findings.append(Finding(trigger, f"{event.get_kind_display()}: {event.detail}", reply))
        # A denied approval is the user's decision, not something left undone: it escalates only
        # when the user also asks for a person (found above).
    if detection.cannot_resolve(reply.content):
        agent = reply.agent.name if reply.agent else "The agent"
        findings.append(
            Finding(Trigger.CANNOT_RESOLVE, f"{agent} said it could not resolve the request.", reply)
        )
    return findings


def reply_inspect(*, reply_id: int) -> Escalation | None:
    """Open an escalation for a finished reply that needs one; a conversation already
    being worked on is not escalated twice (its escalation is returned, and its queue
    pages are told the conversation moved on)."""
    reply = (
        Message.objects.select_related("conversation", "reply_to", "agent", "turn")
        .filter(pk=reply_id, role=Message.Role.ASSISTANT)
        .first()
    )
    if reply is None or reply.status != Message.Status.COMPLETE or reply.sent_by_id:
        return None
    if conversation_is_hidden(conversation_id=reply.conversation_id):
        return None
    escalation_user_replied(conversation_id=reply.conversation_id)
    active = escalation_active_in_conversation(conversation_id=reply.conversation_id)
    if active is not None:
        asked = reply.reply_to is not None and detection.asks_for_person(reply.reply_to.content)
        if asked and active.status == Escalation.Status.LADDER:
            ladder_cut_short(escalation_id=active.pk, reason="The user asked for a person.")
        publish_on_commit(active)  # its transcript grew: the operator's page refreshes
        return active
    findings = reply_findings(reply)
    if not findings:
        return None
    first = findings[0]
    escalation, _ = escalation_open(
        conversation=reply.conversation, message=first.message, trigger=first.trigger, reason=first.reason
    )
    return escalation


def feedback_inspect(*, message_id: int) -> Escalation | None:
    """A thumbs-down escalates the reply (an answer the ladder gave goes on from the phase
    after the one that gave it); a thumbs-up on a quick fix counts for its pattern."""
    message = Message.objects.select_related("conversation", "reply_to").filter(pk=message_id).first()
    if message is None:
        return None
    if message.feedback == Message.Feedback.UP:
        pattern_feedback_record(message=message)
        return None
    if message.feedback != Message.Feedback.DOWN:
        return None
    active = escalation_active_in_conversation(conversation_id=message.conversation_id)
    if active is not None:
        return active  # already being worked on: the rating shows in its transcript
    answered_by = (
        Escalation.objects.filter(answer_message=message).values_list("resolved_by_phase", flat=True).first()
    )
    escalation, _ = escalation_open(
        conversation=message.conversation,
        message=message,
        trigger=Trigger.THUMBS_DOWN,
        reason="The user gave this reply a thumbs-down.",
        start_after=answered_by or None,
    )
    return escalation
