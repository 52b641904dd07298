"""Producing an assistant reply: claim it, stream it, persist it, publish it.

Each flush writes the reply text to the database *before* publishing the frame,
so a socket that re-syncs from the database never misses text that was sent.
A reply is durable work (``durable``): claimed under a lease that a heartbeat renews; a
worker that dies stops renewing it, and the recovery scan (``reply_orphans`` and
``reply_resend``, registered as the kind "reply") hands the reply to another attempt.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Concat
from django.utils import timezone

import durable
from agents.llm.gateway import LLMError, StreamResult
from conversations.double_texting import queue_stalled, reply_queue_advance
from conversations.models import Message, Turn
from conversations.realtime import frame_event, message_event, publish
from conversations.signals import reply_finished, send_on_commit
from conversations.turns.graph import Superseded, TurnRunner

logger = logging.getLogger(__name__)

Status = Message.Status
# Attempts are counted by interruptions (a worker that died), not claims: a turn paused for
# an approval is claimed again when it resumes.
LEASE = durable.LeaseTerms("REPLY_LEASE_SECONDS", "REPLY_MAX_ATTEMPTS")


def reply_claim(*, message_id: int) -> Message | None:
    """Take the reply for this attempt, or None when there is nothing to do: it is
    finished, cancelled, or another live worker holds it."""
    with transaction.atomic():
        reply = durable.lock(
            Message.objects.select_related(
                "agent", "reply_to", "conversation__account", "conversation__agent", "turn"
            ).filter(role=Message.Role.ASSISTANT),
            message_id,
        )
        if reply is None:
            return None
        if reply.status == Status.QUEUED:
            # Sent by the recovery scan: its queue has nothing running in front of it any more.
            reply_queue_advance(conversation_id=reply.conversation_id)
            return None
        orphaned = reply.status == Status.STREAMING and durable.lease_state(reply) != durable.LeaseState.LIVE
        if reply.status != Status.PENDING and not orphaned:
            return None
        if reply.cancel_requested:
            _finish(reply, status=Status.CANCELLED)
            return None
        if orphaned:
            reply.interruptions += 1
        if LEASE.exhausted(reply.interruptions):
            _finish(
                reply,
                status=Status.FAILED,
                error=(
                    f"The reply was interrupted {reply.interruptions} times (the worker stopped) "
                    "and was given up. Your message is saved: send it again to retry."
                ),
            )
            return None
        # Resume from the checkpoint: text written by the step that was interrupted
        # is dropped (that step runs again); text of completed steps is kept.
        reply.status = Status.STREAMING
        reply.content = reply.content[: checkpoint_text_length(reply)]
        reply.error = ""
        durable.claim(
            reply, terms=LEASE, update_fields=["status", "interruptions", "content", "error", "updated_at"]
        )
    publish(reply.conversation_id, message_event(message_id=reply.pk))
    return reply


def checkpoint_text_length(reply: Message) -> int:
    try:
        state = reply.turn.state or {}  # loaded with the claim; no checkpoint before the first step
    except Turn.DoesNotExist:
        return 0
    return int(state.get("text_len", 0))


def _finished_fields(
    *, status: str, error: str = "", result: StreamResult | None = None
) -> dict[str, object]:
    """A reply's final fields (its lease is cleared with them)."""
    fields: dict[str, object] = {"status": status, "error": error, "completed_at": timezone.now()}
    if result is not None:
        fields.update(
            model=result.model or (result.attempts[-1] if result.attempts else ""),
            prompt_tokens=result.prompt_tokens,
            completion_tokens=result.completion_tokens,
            cost_usd=Decimal(str(round(result.cost_usd, 6))),
            first_token_ms=result.first_token_ms,
            latency_ms=result.latency_ms,
        )
    return fields


def _finish(reply: Message, *, status: str, error: str = "", result: StreamResult | None = None) -> None:
    fields = _finished_fields(status=status, error=error, result=result)
    for name, value in fields.items():
        setattr(reply, name, value)
    durable.release_row(reply, update_fields=[*fields, "updated_at"])
    conversation_id, message_id = reply.conversation_id, reply.pk
    reply_queue_advance(conversation_id=conversation_id)  # a message queued behind it starts
    transaction.on_commit(lambda: publish(conversation_id, message_event(message_id=message_id)))


@dataclass
class _Writer:
    """Coalesces model chunks into frames: one write and one publish per flush."""

    reply: Message
    text: str = ""
    pending: str = ""
    seq: int = 0
    last_flush: float = 0.0

    def add(self, chunk: str) -> bool:
        self.pending += chunk
        due = (time.monotonic() - self.last_flush) >= settings.STREAM_FLUSH_SECONDS
        if due or len(self.pending) >= settings.STREAM_FLUSH_CHARS:
            return self.flush()
        return True

    def flush(self, **fields: object) -> bool:
        """Persist and publish the pending text, with any other ``fields`` of the reply; False
        when this attempt no longer owns the reply (the user pressed Stop, or the lease passed
        to another attempt). Inside a transaction (a checkpoint) the frame is published after
        the commit, so what a socket is sent is always in the database it re-syncs from."""
        self.last_flush = time.monotonic()
        if not self.pending and not fields:
            return self._still_owned()
        start, piece = len(self.text), self.pending
        if piece:
            # Appended in SQL: a frame's statement carries the frame, not the whole reply. The
            # row holds exactly self.text while this attempt owns it (the claim cut it to that).
            fields.update(content=Concat(F("content"), Value(piece)), frames=self.seq + 1)
        fields.setdefault("updated_at", timezone.now())
        if not self._write(fields):
            return False
        if not piece:
            return True
        self.text += piece
        self.pending = ""
        self.seq += 1
        event = frame_event(message_id=self.reply.pk, seq=self.seq, start=start, text=piece)
        conversation_id = self.reply.conversation_id
        transaction.on_commit(lambda: publish(conversation_id, event))
        return True

    def _write(self, fields: dict[str, object]) -> int:
        """The conditional update of the reply. A frame written on its own (between checkpoints)
        is committed on PostgreSQL without waiting for its WAL flush (``synchronous_commit``
        off for that transaction only): it is visible at once, and nothing depends on it
        surviving a database crash, since a resumed attempt cuts the text back to the last
        checkpoint anyway, and the next checkpoint's (synchronous) commit flushes it with
        everything before it. Checkpoints, claims and final statuses keep synchronous commits."""
        if connection.vendor != "postgresql" or connection.in_atomic_block:
            return self._owned().update(**fields)
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
            return self._owned().update(**fields)

    def _owned(self):
        return Message.objects.filter(
            pk=self.reply.pk, status=Status.STREAMING, attempts=self.reply.attempts, cancel_requested=False
        )

    def _still_owned(self) -> bool:
        """Still ours? A read: the lease itself is kept by the heartbeat."""
        return self._owned().exists()


UNEXPECTED_ERROR = (
    "Something went wrong while writing this reply. Your message is saved: send it again to retry."
)


def reply_generate(*, message_id: int) -> None:
    """Run one attempt at a reply, from claim to a final status (or a pause for approval)."""
    reply = reply_claim(message_id=message_id)
    if reply is None:
        return
    now = time.monotonic()
    writer = _Writer(reply=reply, text=reply.content, seq=reply.frames, last_flush=now)
    conversation_id = reply.conversation_id

    def notify() -> None:
        publish(conversation_id, message_event(message_id=reply.pk))

    runner = TurnRunner(reply, writer, notify)
    heartbeat = durable.Heartbeat(
        Message.objects.filter(pk=reply.pk, status=Status.STREAMING, attempts=reply.attempts),
        terms=LEASE,
        name=f"lease-{reply.pk}",
    )
    heartbeat.start()
    try:
        outcome = runner.run()
        if outcome.status == Status.AWAITING_APPROVAL:
            if not writer.flush():
                raise Superseded
        else:
            # The last step's text, rows and checkpoint, and the final status (lease cleared):
            # one commit. The ownership check is that update's condition: a Stop that landed
            # fails it, and the reply is finished as cancelled below.
            final = _finished_fields(status=outcome.status, error=outcome.error, result=outcome.usage)
            with transaction.atomic():
                runner.save(**final, lease_expires_at=None)
                transaction.on_commit(notify)
                reply_queue_advance(conversation_id=conversation_id)  # a message queued behind it starts
    except Superseded:
        # Stopped by the user: keep what was shown, drop the rest.
        _finish_owned(reply, status=Status.CANCELLED, result=runner.usage)
        return
    except LLMError as exc:
        writer.flush()
        error = f"The model could not answer: {exc}"
        _finish_owned(reply, status=Status.FAILED, error=error, result=runner.usage)
        return
    except (OperationalError, InterfaceError):
        # The database went away: nothing can be recorded now, so the reply is not failed. The
        # task retries with backoff, and the recovery scan resumes the reply from its last
        # checkpoint once the database is back and the lease has passed.
        logger.warning("reply %s paused: the database is unavailable", reply.pk)
        raise
    except Exception:
        logger.exception("reply %s failed", reply.pk)
        writer.flush()
        _finish_owned(reply, status=Status.FAILED, error=UNEXPECTED_ERROR, result=runner.usage)
        raise
    finally:
        heartbeat.stop()
    if outcome.status == Status.AWAITING_APPROVAL:
        _pause_owned(reply)
        return
    send_on_commit(reply_finished, message_id=reply.pk)  # the escalation ladder listens


def _pause_owned(reply: Message) -> None:
    """Wait for a person: no lease (nothing is running), and the card is shown."""
    paused = durable.release(
        Message.objects.filter(
            pk=reply.pk, attempts=reply.attempts, status=Status.STREAMING, cancel_requested=False
        ),
        status=Status.AWAITING_APPROVAL,
        updated_at=timezone.now(),
    )
    if not paused:
        _finish_owned(reply, status=Status.CANCELLED)
        return
    publish(reply.conversation_id, message_event(message_id=reply.pk))


def _finish_owned(
    reply: Message, *, status: str, error: str = "", result: StreamResult | None = None
) -> bool:
    """Finish only if this attempt still owns the reply; a Stop that landed wins. Returns
    whether it finished the reply."""
    with transaction.atomic():
        current = Message.objects.select_for_update().filter(pk=reply.pk).first()
        if (
            current is not None
            and current.attempts == reply.attempts
            and current.status == Status.INTERRUPTED
        ):
            _record_usage(current, result)  # stopped by a newer message: final already, but it cost
        if current is None or current.attempts != reply.attempts or current.status != Status.STREAMING:
            return False
        if current.cancel_requested:
            status, error = Status.CANCELLED, ""
        _finish(current, status=status, error=error, result=result)
    return True


def _record_usage(reply: Message, result: StreamResult | None) -> None:
    if result is None:
        return
    usage = _finished_fields(status=reply.status, result=result)
    for name in ("status", "error", "completed_at"):
        usage.pop(name)
    Message.objects.filter(pk=reply.pk).update(**usage)


def reply_orphans() -> list[int]:
    """Replies whose worker died (streaming under a lease that passed) or whose task never
    ran (pending for longer than a lease), and queued replies with nothing running in front of
    them (their claim starts the head of the queue)."""
    stalled = list(queue_stalled().values_list("pk", flat=True))
    return stalled + list(
        Message.objects.filter(role=Message.Role.ASSISTANT)
        .filter(
            durable.orphans(
                terms=LEASE,
                running=Q(status=Status.STREAMING),
                waiting=Q(status=Status.PENDING),
                waiting_since="created_at",
            )
        )
        .values_list("pk", flat=True)
    )


def reply_resend(message_id: int) -> bool:
    """Queue another attempt; its claim decides whether there is anything left to do."""
    from conversations.tasks import generate_reply

    transaction.on_commit(lambda: generate_reply.delay(message_id))
    return True
