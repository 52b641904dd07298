from __future__ import annotations

import uuid

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404

from accounts.models import Account
from conversations.models import Approval, Conversation, Message, ShadowPair


def conversations_for_user(*, account: Account, user: AbstractBaseUser) -> QuerySet[Conversation]:
    """A user's own conversations in the current account; nobody else's. Hidden runs (shadow
    answers, evaluations) are not the user's to see."""
    return Conversation.objects.visible().filter(account=account, user=user, deleted_at__isnull=True)


def conversations_search(*, account: Account, user: AbstractBaseUser, query: str) -> QuerySet[Conversation]:
    """The user's conversations whose title or any message contains ``query`` (any case)."""
    conversations = conversations_for_user(account=account, user=user)
    query = (query or "").strip()
    if not query:
        return conversations
    matching = (
        Message.objects.filter(content__icontains=query)
        .exclude(status=Message.Status.DISCARDED)
        .values("conversation_id")
    )
    return conversations.filter(Q(title__icontains=query) | Q(pk__in=matching))


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
    return (
        Conversation.objects.visible()
        .filter(pk=pk, account=membership.account, user=user, deleted_at__isnull=True)
        .first()
    )


def messages_for_conversation(*, conversation: Conversation) -> QuerySet[Message]:
    """The conversation as shown: each question with the variant of its reply that is current.
    Messages taken back by a newer one (double texting's rollback) are not shown; a question
    whose reply waits in the queue carries ``queued``."""
    queued = Message.objects.filter(reply_to_id=OuterRef("pk"), status=Message.Status.QUEUED)
    return (
        conversation.messages.filter(Q(role=Message.Role.USER) | Q(is_current=True))
        .exclude(status=Message.Status.DISCARDED)
        .annotate(queued=Exists(queued))
        .select_related("agent")
        .order_by("created_at", "id")
    )


def reply_variants(*, reply: Message) -> dict:
    """For the "< 2/3 >" switcher and the Regenerate button: how many variants the reply has, and
    whether this one may be regenerated (the current reply to the latest question, not running)."""
    if reply.role != Message.Role.ASSISTANT or reply.reply_to_id is None:
        return {"count": 1, "can_regenerate": False}
    count = Message.objects.filter(reply_to_id=reply.reply_to_id).count()
    latest_question = (
        Message.objects.filter(conversation_id=reply.conversation_id, role=Message.Role.USER)
        .exclude(status=Message.Status.DISCARDED)
        .order_by("-created_at", "-id")
        .values_list("pk", flat=True)
        .first()
    )
    can_regenerate = (
        reply.is_current
        and not reply.is_in_flight
        and not reply.sent_by_id
        and latest_question == reply.reply_to_id
    )
    return {"count": count, "can_regenerate": can_regenerate}


def message_in_conversation(*, conversation_id: int, pk: int) -> Message | None:
    return Message.objects.select_related("agent").filter(conversation_id=conversation_id, pk=pk).first()


def message_latest_reply(*, conversation_id: int) -> Message | None:
    return (
        Message.objects.select_related("agent")
        .filter(conversation_id=conversation_id, role=Message.Role.ASSISTANT, is_current=True)
        .exclude(status=Message.Status.DISCARDED)
        .order_by("-created_at", "-id")
        .first()
    )


def reply_in_flight(*, conversation: Conversation) -> Message | None:
    return conversation.messages.filter(role=Message.Role.ASSISTANT, status__in=Message.IN_FLIGHT).first()


def model_history(*, reply: Message, limit: int = 20) -> list[dict]:
    """The conversation so far, as model messages, up to the user message being answered. A reply
    interrupted by a newer message is in it, its text so far with a note saying it was cut off;
    messages taken back (rollback) are not."""
    from conversations.double_texting import INTERRUPTED_NOTE

    interrupted = Q(status=Message.Status.INTERRUPTED, role=Message.Role.ASSISTANT) & ~Q(content="")
    previous = (
        Message.objects.filter(
            Q(status=Message.Status.COMPLETE) | interrupted,
            conversation_id=reply.conversation_id,
            created_at__lte=reply.reply_to.created_at,
        )
        .exclude(pk=reply.pk)
        # Earlier turns as the user sees them (their current variants), and none of this reply's own.
        .exclude(role=Message.Role.ASSISTANT, is_current=False)
        .exclude(reply_to_id=reply.reply_to_id)
        .order_by("-created_at", "-id")
        .values("role", "content", "status")[:limit]
    )
    history = [
        {
            "role": m["role"],
            "content": m["content"]
            + (f"\n\n{INTERRUPTED_NOTE}" if m["status"] == Message.Status.INTERRUPTED else ""),
        }
        for m in reversed(previous)
    ]
    if reply.agent and reply.agent.system_prompt:
        history.insert(0, {"role": "system", "content": reply.agent.system_prompt})
    return history


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
        if reply.status not in (Message.Status.PENDING, Message.Status.STREAMING, Message.Status.QUEUED):
            return reply
        if time.monotonic() >= deadline:
            return reply
        time.sleep(0.1)


def approval_for_user(
    *, user: AbstractBaseUser, public_id: uuid.UUID | str, account: Account | None = None
) -> Approval:
    """An approval that ``user`` may decide: one asked for in their own conversation (not a
    hidden run's) of an account they still belong to, optionally the current ``account``.

    Only the person the conversation belongs to decides, as only they see its card: another
    member, an operator or an admin of the account gets the same 404 as for an id that does
    not exist, and so does an integer id or anything else that is not a UUID."""
    from accounts.selectors import memberships_for_user

    try:
        key = public_id if isinstance(public_id, uuid.UUID) else uuid.UUID(str(public_id))
    except ValueError:
        raise Http404("No such approval.") from None
    approvals = Approval.objects.select_related("tool_call__turn", "conversation").filter(
        public_id=key,
        conversation__user_id=user.pk,
        conversation__purpose=Conversation.Purpose.CHAT,
        conversation__account_id__in=memberships_for_user(user=user).values("account_id"),
    )
    if account is not None:
        approvals = approvals.filter(conversation__account=account)
    return get_object_or_404(approvals)


def shadow_pairs_for_account(*, account: Account, limit: int = 20) -> QuerySet[ShadowPair]:
    return (
        ShadowPair.objects.filter(shadow__served__account=account)
        .select_related("question", "legacy_reply__agent", "shadow_reply__agent", "shadow__served__user")
        # The shadow's intended (simulated) actions, shown beside the answers.
        .prefetch_related("shadow_reply__turn__tool_calls")
        .order_by("-created_at", "-id")[:limit]
    )
