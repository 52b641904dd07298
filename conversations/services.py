"""Writes for conversations: starting one, sending a message, stopping a reply."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.http import Http404
from django.utils import timezone

from accounts.models import Account, Membership
from accounts.text import text_validate
from agents.models import AgentInstance
from agents.selectors import agent_default_for_account
from conversations.double_texting import (
    Strategy,
    reply_queue_advance,
    strategy_clean,
    unanswered_discard,
    unanswered_interrupt,
    unanswered_lock,
)
from conversations.models import Approval, Conversation, Message, ToolGrant
from conversations.realtime import message_event, publish
from conversations.selectors import reply_in_flight
from conversations.shadow import shadow_start
from conversations.signals import feedback_given, send_on_commit


class ReplyInFlight(ValidationError):
    """The conversation is still answering; a second question would interleave."""


def message_clean_content(content: str, *, field: str = "message") -> str:
    """The message as it will be stored, or a ValidationError under ``field`` (the name the
    caller's form or API gives it), so the error is shown next to what was typed."""
    content = (content or "").strip()
    if not content:
        raise ValidationError({field: ValidationError("Type a message before sending.", code="empty")})
    # Also checked for every HTTP body by config.middleware; sockets and tasks reach here directly.
    text_validate(content, field=field)
    limit = settings.CHAT_MESSAGE_MAX_CHARS
    if len(content) > limit:
        raise ValidationError(
            {
                field: ValidationError(
                    f"Messages can be at most {limit:,} characters; this one has {len(content):,}.",
                    code="too_long",
                )
            }
        )
    return content


def conversation_start(
    *, account: Account, user: AbstractBaseUser, agent: AgentInstance | None = None, arm: str | None = None
) -> Conversation:
    """A conversation with one chosen agent, or else one served by the arm the rollout flag
    gives the user (or ``arm``, when the caller asks for one): the multi-agent system
    (routed, with hand-offs) or the legacy single agent (the default agent, no routing)."""
    from rollout.decision import multi_agent_arm

    if agent is not None and agent.account_id != account.pk:
        raise ValidationError({"agent": "That agent belongs to another account."})
    if agent is not None and agent.status != AgentInstance.Status.ACTIVE:
        raise ValidationError({"agent": f"Agent {agent.slug} is not available in this account."})
    if agent is None and arm is None:
        arm = multi_agent_arm(user_id=user.pk, account_id=account.pk)
    arm = arm or Conversation.Arm.MULTI_AGENT
    return Conversation.objects.create(
        account=account,
        user=user,
        agent=agent or agent_default_for_account(account=account),
        routed=agent is None and arm == Conversation.Arm.MULTI_AGENT,
        arm=arm,
    )


@transaction.atomic
def message_send(
    *, conversation: Conversation, user: AbstractBaseUser, content: str, strategy: str | None = None
) -> tuple[Message, Message]:
    """Save the user's message and its reply, and queue the reply once both are committed.
    While an earlier reply is unanswered, ``strategy`` (a ``multitask_strategy``; by default the
    account's ``double_texting``) decides what happens: see ``conversations.double_texting``.
    Returns (user message, reply)."""
    from conversations.tasks import generate_reply

    content = message_clean_content(content)
    # The account's setting as it is now (not as a conversation loaded earlier cached it).
    strategy = strategy_clean(strategy) or Account.objects.values_list("double_texting", flat=True).get(
        pk=conversation.account_id
    )
    # Lock the conversation so two quick sends cannot both pass the in-flight check, then its
    # unanswered replies: one finishing right now is either seen finished or waits for this send.
    Conversation.objects.select_for_update().filter(pk=conversation.pk).first()
    unanswered = unanswered_lock(conversation=conversation)
    status = Message.Status.PENDING
    # An action waiting for the person's decision is decided first, whatever the strategy: a
    # message queued behind it would wait on a card nobody looks at, and one that interrupts or
    # rolls back would drop the decision silently (typing "approve" never approves).
    if any(r.status == Message.Status.AWAITING_APPROVAL for r in unanswered):
        raise ReplyInFlight(
            "An action is waiting for your approval. Approve or deny it first.", code="awaiting_approval"
        )
    if unanswered and strategy == Strategy.REJECT:
        raise ReplyInFlight(
            "The previous reply is still being written. Wait for it or press Stop.",
            code="in_flight",
        )
    if unanswered and strategy == Strategy.ENQUEUE:
        status = Message.Status.QUEUED  # started by the finish of the reply before it
    elif unanswered and strategy == Strategy.INTERRUPT:
        unanswered_interrupt(replies=unanswered)
    elif unanswered:
        unanswered_discard(replies=unanswered)
    question = Message.objects.create(
        conversation=conversation, role=Message.Role.USER, content=content, agent=None
    )
    reply = Message.objects.create(
        conversation=conversation,
        role=Message.Role.ASSISTANT,
        status=status,
        agent=conversation.agent,
        reply_to=question,
    )
    if not conversation.title:
        conversation.title = content[:80]
    conversation.updated_at = timezone.now()
    conversation.save(update_fields=["title", "updated_at"])
    if status == Message.Status.PENDING:
        transaction.on_commit(lambda: generate_reply.delay(reply.pk))
    shadow_start(conversation=conversation, question=question, reply=reply)  # never raises
    return question, reply


@transaction.atomic
def reply_cancel(*, reply: Message) -> Message:
    """Stop a reply. A pending, queued (double texting) or approval-waiting reply is cancelled
    here, and the next queued reply starts; a streaming one is flagged and its worker stops at
    its next frame, keeping the text written so far (its finish starts the next queued reply)."""
    if reply.role != Message.Role.ASSISTANT or not reply.is_in_flight:
        return reply
    # Nothing is running: cancel here and now.
    waiting = [Message.Status.PENDING, Message.Status.AWAITING_APPROVAL, Message.Status.QUEUED]
    cancelled_before_start = Message.objects.filter(pk=reply.pk, status__in=waiting).update(
        status=Message.Status.CANCELLED,
        cancel_requested=True,
        completed_at=timezone.now(),
        updated_at=timezone.now(),
    )
    if not cancelled_before_start:
        Message.objects.filter(pk=reply.pk, status=Message.Status.STREAMING).update(
            cancel_requested=True, updated_at=timezone.now()
        )
    else:
        reply_queue_advance(conversation_id=reply.conversation_id)
    reply.refresh_from_db()
    conversation_id = reply.conversation_id
    transaction.on_commit(lambda: publish(conversation_id, message_event(message_id=reply.pk)))
    return reply


class ApprovalAlreadyDecided(ValidationError):
    """An approval is decided once; a second decision (a replay) changes nothing."""


class ApprovalNotFound(Http404):
    """The user may not decide this approval. Entry points answer it exactly as an approval
    that does not exist, so nobody learns that someone else's action is pending."""


def approval_check_decider(*, approval: Approval, user: AbstractBaseUser) -> None:
    """Only the user whose conversation asked may decide, while still a member of its account,
    and never in a hidden run (nobody sees those; their gated calls are simulated). Checked
    again here, on the rows as they are in the database, whatever the caller looked up."""
    conversation = approval.conversation
    if (
        user.pk is None
        or conversation.user_id != user.pk
        or conversation.is_hidden
        or approval.tool_call.conversation_id != conversation.pk
        or not Membership.objects.filter(user_id=user.pk, account_id=conversation.account_id).exists()
    ):
        raise ApprovalNotFound("No such approval.")


@transaction.atomic
def approval_decide(
    *, approval: Approval, user: AbstractBaseUser, approve: bool, allow_for_conversation: bool = False
) -> Approval:
    """Record the conversation owner's decision on one gated tool call and resume the turn.

    Bound to that single call: the runtime executes only the call this approval
    belongs to, and only while its reply is waiting for exactly this decision.
    Anyone but the owner gets ``ApprovalNotFound``; a second decision ``ApprovalAlreadyDecided``."""

    # Lock the approval row only (not the joined rows): the owner check reads fresh rows.
    locked = (
        Approval.objects.select_for_update(of=("self",))
        .select_related("tool_call__turn", "conversation")
        .get(pk=approval.pk)
    )
    approval_check_decider(approval=locked, user=user)
    if locked.decision != Approval.Decision.PENDING:
        raise ApprovalAlreadyDecided(
            f"This action was already {locked.get_decision_display().lower()}.", code="decided"
        )
    reply = Message.objects.select_for_update().get(pk=locked.tool_call.turn.reply_id)
    # Fail closed: decide only a call that is itself still waiting, in a reply still waiting.
    if (
        reply.status != Message.Status.AWAITING_APPROVAL
        or locked.tool_call.status != locked.tool_call.Status.AWAITING_APPROVAL
    ):
        raise ApprovalAlreadyDecided("This action is no longer waiting for a decision.", code="stale")
    locked.decision = Approval.Decision.APPROVED if approve else Approval.Decision.DENIED
    locked.allow_for_conversation = bool(approve and allow_for_conversation)
    locked.decided_by = user
    locked.decided_at = timezone.now()
    locked.save()
    if locked.allow_for_conversation:
        ToolGrant.objects.get_or_create(
            conversation_id=locked.conversation_id,
            tool_slug=locked.tool_call.tool_slug,
            defaults={"approval": locked},
        )
    reply_resume(reply=reply)
    return locked


def reply_resume(*, reply: Message) -> None:
    """A reply held for its owner's answer (an approval, an uncertain call) goes on: pending
    again, re-rendered on open pages and queued for the worker once committed."""
    from conversations.tasks import generate_reply  # the tasks module imports this one

    reply.status = Message.Status.PENDING
    reply.save(update_fields=["status", "updated_at"])
    conversation_id, reply_id = reply.conversation_id, reply.pk
    transaction.on_commit(lambda: publish(conversation_id, message_event(message_id=reply_id)))
    transaction.on_commit(lambda: generate_reply.delay(reply_id))


def message_post(
    *,
    conversation: Conversation,
    content: str,
    agent: AgentInstance | None = None,
    sent_by: AbstractBaseUser | None = None,
    model: str = "",
) -> Message:
    """Add a finished assistant-side message outside a turn: a person's reply (``sent_by``)
    or an answer found by an escalation (``model``: what produced it; a message with
    neither, like a notice, is not rated). Open chats append it live once it is committed."""
    from conversations.realtime import message_added_event

    content = message_clean_content(content, field="content")
    now = timezone.now()
    message = Message.objects.create(
        conversation=conversation,
        role=Message.Role.ASSISTANT,
        status=Message.Status.COMPLETE,
        content=content,
        agent=agent,
        sent_by=sent_by,
        model=model,
        completed_at=now,
    )
    Conversation.objects.filter(pk=conversation.pk).update(updated_at=now)
    transaction.on_commit(lambda: publish(conversation.pk, message_added_event(message_id=message.pk)))
    return message


def message_feedback_set(*, message: Message, user: AbstractBaseUser, feedback: str) -> Message:
    """Thumbs up or down (or "" to take it back) on a finished assistant reply, by the
    conversation's owner. A thumbs-down asks the escalation ladder to look at it."""
    if feedback not in {"", *Message.Feedback.values}:
        raise ValidationError({"feedback": "Feedback is 'up', 'down' or '' (none)."})
    if message.role != Message.Role.ASSISTANT or message.status != Message.Status.COMPLETE:
        raise ValidationError({"feedback": "Only a finished reply can be rated."})
    if message.conversation.user_id != user.pk:
        raise ValidationError({"feedback": "Only the person who asked can rate this reply."})
    message.feedback = feedback
    message.feedback_at = timezone.now() if feedback else None
    message.save(update_fields=["feedback", "feedback_at", "updated_at"])
    send_on_commit(feedback_given, message_id=message.pk)
    return message


def conversation_rename(*, conversation: Conversation, title: str) -> Conversation:
    """Give the conversation the title its user chose (whitespace collapsed)."""
    title = " ".join((title or "").split())
    if not title:
        raise ValidationError({"title": ValidationError("Give the conversation a title.", code="empty")})
    text_validate(title, field="title")
    max_length = Conversation._meta.get_field("title").max_length
    if len(title) > max_length:
        raise ValidationError(
            {"title": ValidationError(f"Titles can be at most {max_length} characters.", code="too_long")}
        )
    conversation.title = title
    conversation.save(update_fields=["title", "updated_at"])
    return conversation


def conversation_delete(*, conversation: Conversation) -> Conversation:
    """Delete the conversation for its user: a running reply is stopped, and the rows stay (with
    ``deleted_at``) for analytics, which counted them already."""
    unanswered = conversation.messages.filter(role=Message.Role.ASSISTANT, status__in=Message.IN_FLIGHT)
    # Newest first: a queued reply is cancelled before the one in front of it could start it.
    for reply in unanswered.order_by("-created_at", "-id"):
        reply_cancel(reply=reply)
    # update() keeps updated_at: the conversation's place in analytics' time series does not move.
    Conversation.objects.filter(pk=conversation.pk, deleted_at__isnull=True).update(deleted_at=timezone.now())
    conversation.refresh_from_db(fields=["deleted_at"])
    return conversation


@transaction.atomic
def reply_regenerate(*, reply: Message) -> Message:
    """Answer the reply's question again: a new variant, current from now on, queued for the worker.
    The earlier variants stay, to switch back to. Only the reply to the latest question, and not
    while any reply of the conversation is still running."""
    from conversations.tasks import generate_reply

    conversation = reply.conversation
    Conversation.objects.select_for_update().filter(pk=conversation.pk).first()
    if reply.role != Message.Role.ASSISTANT or reply.reply_to_id is None or reply.sent_by_id:
        raise ValidationError("Only an agent's reply can be regenerated.", code="not_a_reply")
    if reply_in_flight(conversation=conversation) is not None:
        raise ReplyInFlight("A reply is still being written. Wait for it or press Stop.", code="in_flight")
    latest_question = (
        conversation.messages.filter(role=Message.Role.USER)
        .exclude(status=Message.Status.DISCARDED)
        .order_by("-created_at", "-id")
        .first()
    )
    if latest_question is None or latest_question.pk != reply.reply_to_id:
        raise ValidationError("Only the last reply can be regenerated.", code="not_last")
    variants = Message.objects.filter(reply_to_id=reply.reply_to_id)
    number = (variants.aggregate(last=Max("variant"))["last"] or 0) + 1
    variants.update(is_current=False)
    regenerated = Message.objects.create(
        conversation=conversation,
        role=Message.Role.ASSISTANT,
        status=Message.Status.PENDING,
        agent=conversation.agent,
        reply_to_id=reply.reply_to_id,
        variant=number,
        is_current=True,
    )
    conversation.updated_at = timezone.now()
    conversation.save(update_fields=["updated_at"])
    transaction.on_commit(lambda: generate_reply.delay(regenerated.pk))
    return regenerated


@transaction.atomic
def reply_select(*, reply: Message, variant: int) -> Message:
    """Show (and continue from) another variant of the reply; returns it."""
    if reply.reply_to_id is None:  # filter(reply_to_id=None) would match every question
        raise Http404("No such variant.")
    variants = Message.objects.select_for_update().filter(reply_to_id=reply.reply_to_id)
    chosen = variants.filter(variant=variant).first()
    if chosen is None:
        raise Http404("No such variant.")
    if any(m.is_in_flight for m in variants):
        raise ReplyInFlight("A reply is still being written. Wait for it or press Stop.", code="in_flight")
    variants.exclude(pk=chosen.pk).update(is_current=False)
    Message.objects.filter(pk=chosen.pk).update(is_current=True)
    chosen.is_current = True
    return chosen
