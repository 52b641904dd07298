from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from accounts.models import Account
from conversations.models import Conversation, Message


def conversations_for_user(*, account: Account, user: AbstractBaseUser) -> QuerySet[Conversation]:
    """A user's own conversations in the current account; nobody else's. Hidden shadow
    conversations (the rollout's background multi-agent answers) are not the user's to see."""
    return Conversation.objects.filter(account=account, user=user, rollout_shadow__isnull=True)


def conversation_get(*, account: Account, user: AbstractBaseUser, pk: int) -> Conversation:
    """The conversation, or 404 when it belongs to another user or account."""
    return get_object_or_404(conversations_for_user(account=account, user=user), pk=pk)


def conversation_for_socket(
    *, user: AbstractBaseUser, account_id: int | None, pk: int
) -> Conversation | None:
    """The socket equivalent of ``conversation_get``: None means refuse."""
    from accounts.selectors import membership_current

    if not user.is_authenticated:
        return None
    membership = membership_current(user=user, account_id=account_id)
    if membership is None:
        return None
    return Conversation.objects.filter(
        pk=pk, account=membership.account, user=user, rollout_shadow__isnull=True
    ).first()


def messages_for_conversation(*, conversation: Conversation) -> QuerySet[Message]:
    return conversation.messages.select_related("agent").order_by("created_at", "id")


def message_in_conversation(*, conversation_id: int, pk: int) -> Message | None:
    return Message.objects.select_related("agent").filter(conversation_id=conversation_id, pk=pk).first()


def message_latest_reply(*, conversation_id: int) -> Message | None:
    return (
        Message.objects.select_related("agent")
        .filter(conversation_id=conversation_id, role=Message.Role.ASSISTANT)
        .order_by("-created_at", "-id")
        .first()
    )


def reply_in_flight(*, conversation: Conversation) -> Message | None:
    return conversation.messages.filter(role=Message.Role.ASSISTANT, status__in=Message.IN_FLIGHT).first()


def model_history(*, reply: Message, limit: int = 20) -> list[dict]:
    """The conversation so far, as model messages, up to the user message being answered."""
    previous = (
        Message.objects.filter(
            conversation_id=reply.conversation_id,
            created_at__lte=reply.reply_to.created_at,
            status=Message.Status.COMPLETE,
        )
        .exclude(pk=reply.pk)
        .order_by("-created_at", "-id")
        .values("role", "content")[:limit]
    )
    history = [{"role": m["role"], "content": m["content"]} for m in reversed(previous)]
    if reply.agent and reply.agent.system_prompt:
        history.insert(0, {"role": "system", "content": reply.agent.system_prompt})
    return history


def approval_get(*, account: Account, pk: int):
    """An approval in the current account (any member may decide), or 404."""
    from conversations.models import Approval

    return get_object_or_404(
        Approval.objects.select_related("tool_call", "conversation"), pk=pk, conversation__account=account
    )


def reply_steps(*, message: Message) -> dict:
    """What a reply's turn did, for display: hand-offs, tool calls (with approvals), guard rails."""
    turn = getattr(message, "turn", None) if message.role == Message.Role.ASSISTANT else None
    if turn is None:
        return {"handoffs": [], "tool_calls": [], "guardrails": []}
    return {
        "handoffs": list(turn.handoffs.select_related("from_agent", "to_agent")),
        "tool_calls": list(turn.tool_calls.select_related("agent", "approval")),
        "guardrails": list(turn.guardrail_events.all()),
    }


def reply_wait(*, reply_id: int, timeout: float) -> Message:
    """The reply once it stops running (finished, failed or waiting for approval),
    or as it is when ``timeout`` seconds have passed."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        reply = Message.objects.select_related("agent").get(pk=reply_id)
        if reply.status not in (Message.Status.PENDING, Message.Status.STREAMING):
            return reply
        if time.monotonic() >= deadline:
            return reply
        time.sleep(0.1)


def approval_for_user(*, user: AbstractBaseUser, pk: int):
    """An approval in a conversation of one of the user's accounts (any member may
    decide), or 404."""
    from accounts.selectors import memberships_for_user
    from conversations.models import Approval

    accounts = memberships_for_user(user=user).values("account_id")
    return get_object_or_404(
        Approval.objects.select_related("tool_call__turn", "conversation"),
        pk=pk,
        conversation__account_id__in=accounts,
    )
