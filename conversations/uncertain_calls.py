"""Actions that may or may not have run: a tool call to another system whose worker died (or
whose answer never came) while it ran. The turn stops there (``conversations/turns/graph.py``);
its owner settles it here, and the turn goes on."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.shortcuts import get_object_or_404
from django.utils import timezone

from accounts.models import Membership
from conversations.models import Message, ToolCall
from conversations.services import ApprovalAlreadyDecided, ApprovalNotFound, reply_resume


def tool_call_in_conversation(*, conversation_id: int, pk: int) -> ToolCall:
    """One tool call of a conversation the caller already scoped to its owner, or 404."""
    return get_object_or_404(
        ToolCall.objects.select_related("turn", "conversation"), conversation_id=conversation_id, pk=pk
    )


@transaction.atomic
def tool_call_resolve(*, tool_call: ToolCall, user: AbstractBaseUser, ran: bool) -> ToolCall:
    """The owner's answer to "this action may or may not have run": it ran (the turn goes on
    without calling again) or run it again (one deliberate call, with the same idempotency key).
    Decided once, by the conversation's owner only (anyone else: ``ApprovalNotFound``, as for an
    approval); the turn is queued again on commit."""

    locked = (
        ToolCall.objects.select_for_update(of=("self",))
        .select_related("conversation", "turn")
        .get(pk=tool_call.pk)
    )
    conversation = locked.conversation
    if (
        user.pk is None
        or conversation.user_id != user.pk
        or conversation.is_hidden
        or not Membership.objects.filter(user_id=user.pk, account_id=conversation.account_id).exists()
    ):
        raise ApprovalNotFound("No such action.")
    reply = Message.objects.select_for_update().get(pk=locked.turn.reply_id)
    if (
        locked.status != ToolCall.Status.UNCERTAIN
        or locked.resolution
        or reply.status != Message.Status.AWAITING_APPROVAL
    ):
        raise ApprovalAlreadyDecided("This action is no longer waiting for an answer.", code="stale")
    locked.resolution = ToolCall.Resolution.RAN if ran else ToolCall.Resolution.RUN_AGAIN
    locked.resolved_by = user
    locked.resolved_at = timezone.now()
    locked.save(update_fields=["resolution", "resolved_by", "resolved_at"])
    reply_resume(reply=reply)
    return locked
