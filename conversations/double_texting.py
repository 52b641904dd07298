"""Double texting: what a message sent while the previous reply is still running does.

The strategies are LangGraph's ``multitask_strategy`` names, chosen per account
(``Account.double_texting``) and per API call:

- ``reject``: refused (409) until the reply is done; nothing is saved.
- ``enqueue``: saved at once with a reply in status ``queued``; queued replies are answered one
  at a time, oldest first, each once the one before it has finished (``reply_queue_advance``).
- ``interrupt``: everything still unanswered is stopped where it is and kept, marked
  ``interrupted`` (a running reply keeps its text so far); the new message is answered at once,
  and the model sees the interrupted text (``selectors.model_history``).
- ``rollback``: everything still unanswered is ``discarded`` with its question: hidden from the
  chat, the search and the model's history, but kept in the database, because a tool the
  reply already ran (a ticket filed, a live system called) cannot be undone and its record
  must stay, as must the cost analytics already counted.

Correct under races without timing: ``message_send`` locks the conversation row and then the
unanswered replies (``unanswered_lock``), and every path that finishes a reply updates that
reply's row and advances the queue in the same transaction. So a send either sees the reply
still running (and queues behind it) or sees it finished (and is answered at once); a queued
reply is never left waiting behind a reply that has finished. A worker that dies mid-reply
leaves its reply to the recovery scan (``replies.reply_orphans``), whose finish advances the
queue; a queue with nothing running in front of it (``queue_stalled``) is advanced by that scan.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from accounts.models import Account
from conversations.models import Conversation, Message
from conversations.realtime import message_event, publish

Strategy = Account.DoubleTexting
Status = Message.Status

# Also written on the interrupted reply in the model's history, so it knows why the text stops.
INTERRUPTED_NOTE = "[This reply was interrupted by the user's next message.]"


def strategy_clean(value: str | None, *, field: str = "multitask_strategy") -> str | None:
    """The strategy asked for, or None for the account's; a ValidationError under ``field``."""
    if value is None or value == "":
        return None
    if value not in Strategy.values:
        raise ValidationError(
            {field: ValidationError(f"Use one of: {', '.join(Strategy.values)}.", code="invalid_choice")}
        )
    return value


def unanswered_lock(*, conversation: Conversation) -> list[Message]:
    """The conversation's replies not answered yet (running first, then the queue in order),
    locked: a reply finishing at the same moment either commits first (and is not returned) or
    waits for the caller's transaction. Call inside ``message_send``'s transaction."""
    return list(
        Message.objects.select_for_update()
        .filter(conversation=conversation, role=Message.Role.ASSISTANT, status__in=Message.IN_FLIGHT)
        .order_by("created_at", "id")
    )


def _publish_on_commit(conversation_id: int, message_ids: list[int]) -> None:
    def send() -> None:
        for message_id in message_ids:
            publish(conversation_id, message_event(message_id=message_id))

    transaction.on_commit(send)


def unanswered_interrupt(*, replies: list[Message]) -> None:
    """Stop these replies where they are: final at once, so the next reply's model history reads
    exactly this text. A worker still streaming one loses ownership (its writes are conditional
    on the status) and stops at its next frame without writing more."""
    if not replies:
        return
    now = timezone.now()
    Message.objects.filter(pk__in=[r.pk for r in replies], status__in=Message.IN_FLIGHT).update(
        status=Status.INTERRUPTED,
        cancel_requested=True,
        lease_expires_at=None,
        completed_at=now,
        updated_at=now,
    )
    _publish_on_commit(replies[0].conversation_id, [r.pk for r in replies])


def unanswered_discard(*, replies: list[Message]) -> None:
    """Take these replies back with their questions: hidden everywhere, kept in the database."""
    if not replies:
        return
    now = timezone.now()
    ids = [r.pk for r in replies]
    question_ids = [r.reply_to_id for r in replies if r.reply_to_id]
    Message.objects.filter(pk__in=ids, status__in=Message.IN_FLIGHT).update(
        status=Status.DISCARDED,
        cancel_requested=True,
        lease_expires_at=None,
        completed_at=now,
        updated_at=now,
    )
    Message.objects.filter(pk__in=question_ids).update(status=Status.DISCARDED, updated_at=now)
    # Each open chat removes both from the page.
    _publish_on_commit(replies[0].conversation_id, [*question_ids, *ids])


def reply_queue_advance(*, conversation_id: int) -> Message | None:
    """Start the oldest queued reply when nothing in the conversation is running any more.
    Called in the transaction that finished a reply (after its row was updated), and by the
    recovery scan. The conditional update makes a second caller a no-op."""
    from conversations.tasks import generate_reply

    replies = Message.objects.filter(conversation_id=conversation_id, role=Message.Role.ASSISTANT)
    # The queue first: it is usually empty, and then this is the only read.
    head = replies.filter(status=Status.QUEUED).order_by("created_at", "id").first()
    if head is None or replies.filter(status__in=Message.RUNNING).exists():
        return None
    if not replies.filter(pk=head.pk, status=Status.QUEUED).update(
        status=Status.PENDING, updated_at=timezone.now()
    ):
        return None
    head.status = Status.PENDING
    # The question loses its "queued" mark and the reply shows as starting, on every open chat.
    _publish_on_commit(conversation_id, [pk for pk in (head.reply_to_id, head.pk) if pk])
    transaction.on_commit(lambda: generate_reply.delay(head.pk))
    return head


def queue_stalled() -> QuerySet[Message]:
    """Queued replies with nothing running in front of them: the head of each such queue is due
    to start (normally started by the finish of the reply before it; this is the safety net)."""
    running = Message.objects.filter(
        conversation_id=OuterRef("conversation_id"), role=Message.Role.ASSISTANT, status__in=Message.RUNNING
    )
    return Message.objects.filter(role=Message.Role.ASSISTANT, status=Status.QUEUED).filter(~Exists(running))
