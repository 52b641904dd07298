"""Producing an assistant reply: claim it, stream it, persist it, publish it.

Each flush writes the reply text to the database *before* publishing the frame,
so a socket that re-syncs from the database never misses text that was sent.
A reply is claimed under a lease: a worker that dies stops renewing it, and
``replies_recover_orphaned`` hands the reply to another attempt.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import connections, transaction
from django.db.models import Q
from django.utils import timezone

from agents.llm.gateway import LLMError, StreamResult
from conversations.models import Message
from conversations.realtime import frame_event, message_event, publish

logger = logging.getLogger(__name__)

Status = Message.Status


def _lease_expiry():
    return timezone.now() + timedelta(seconds=settings.REPLY_LEASE_SECONDS)


def reply_claim(*, message_id: int) -> Message | None:
    """Take the reply for this attempt, or None when there is nothing to do: it is
    finished, cancelled, or another live worker holds it."""
    now = timezone.now()
    with transaction.atomic():
        reply = (
            # Lock only the reply row: PostgreSQL cannot lock the nullable side of a join.
            Message.objects.select_for_update(of=("self",))
            .select_related("agent", "reply_to", "conversation__account", "conversation__agent")
            .filter(pk=message_id, role=Message.Role.ASSISTANT)
            .first()
        )
        if reply is None:
            return None
        orphaned = reply.status == Status.STREAMING and (
            reply.lease_expires_at is None or reply.lease_expires_at <= now
        )
        if reply.status != Status.PENDING and not orphaned:
            return None
        if reply.cancel_requested:
            _finish(reply, status=Status.CANCELLED)
            return None
        if orphaned:
            reply.interruptions += 1
        if reply.interruptions >= settings.REPLY_MAX_ATTEMPTS:
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
        reply.attempts += 1
        reply.content = reply.content[: checkpoint_text_length(reply)]
        reply.error = ""
        reply.lease_expires_at = _lease_expiry()
        reply.save(
            update_fields=[
                "status", "attempts", "interruptions", "content", "error", "lease_expires_at", "updated_at",
            ]
        )  # fmt: skip
    publish(reply.conversation_id, message_event(message_id=reply.pk))
    return reply


def checkpoint_text_length(reply: Message) -> int:
    from conversations.models import Turn

    state = Turn.objects.filter(reply=reply).values_list("state", flat=True).first() or {}
    return int(state.get("text_len", 0))


def _finish(reply: Message, *, status: str, error: str = "", result: StreamResult | None = None) -> None:
    reply.status = status
    reply.error = error
    reply.completed_at = timezone.now()
    reply.lease_expires_at = None
    fields = ["status", "error", "completed_at", "lease_expires_at", "updated_at"]
    if result is not None:
        reply.model = result.model or (result.attempts[-1] if result.attempts else "")
        reply.prompt_tokens = result.prompt_tokens
        reply.completion_tokens = result.completion_tokens
        reply.cost_usd = Decimal(str(round(result.cost_usd, 6)))
        reply.first_token_ms = result.first_token_ms
        reply.latency_ms = result.latency_ms
        fields += ["model", "prompt_tokens", "completion_tokens", "cost_usd", "first_token_ms", "latency_ms"]
    reply.save(update_fields=fields)
    conversation_id, message_id = reply.conversation_id, reply.pk
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

    def flush(self) -> bool:
        """Persist and publish; False when this attempt no longer owns the reply
        (the user pressed Stop, or the lease passed to another attempt)."""
        self.last_flush = time.monotonic()
        if not self.pending:
            return self._still_owned()
        start, piece = len(self.text), self.pending
        owned = self._owned().update(
            content=self.text + piece,
            frames=self.seq + 1,
            updated_at=timezone.now(),
        )
        if not owned:
            return False
        self.text += piece
        self.pending = ""
        self.seq += 1
        publish(
            self.reply.conversation_id,
            frame_event(message_id=self.reply.pk, seq=self.seq, start=start, text=piece),
        )
        return True

    def _owned(self):
        return Message.objects.filter(
            pk=self.reply.pk, status=Status.STREAMING, attempts=self.reply.attempts, cancel_requested=False
        )

    def _still_owned(self) -> bool:
        """Still ours? A read: the lease itself is kept by ``_LeaseHeartbeat``."""
        return self._owned().exists()


UNEXPECTED_ERROR = (
    "Something went wrong while writing this reply. Your message is saved: send it again to retry."
)


def reply_generate(*, message_id: int) -> None:
    """Run one attempt at a reply, from claim to a final status (or a pause for approval)."""
    from agents.runtime.graph import Superseded, TurnRunner

    reply = reply_claim(message_id=message_id)
    if reply is None:
        return
    now = time.monotonic()
    writer = _Writer(reply=reply, text=reply.content, seq=reply.frames, last_flush=now)
    conversation_id = reply.conversation_id

    def notify() -> None:
        publish(conversation_id, message_event(message_id=reply.pk))

    runner = TurnRunner(reply, writer, notify)
    heartbeat = _LeaseHeartbeat(reply)
    heartbeat.start()
    try:
        outcome = runner.run()
        if not writer.flush():
            raise Superseded
    except Superseded:
        # Stopped by the user: keep what was shown, drop the rest.
        _finish_owned(reply, status=Status.CANCELLED, result=runner.usage)
        return
    except LLMError as exc:
        writer.flush()
        error = f"The model could not answer: {exc}"
        _finish_owned(reply, status=Status.FAILED, error=error, result=runner.usage)
        return
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
    _finish_owned(reply, status=outcome.status, error=outcome.error, result=outcome.usage)
    from escalations.tasks import inspect_reply  # does the finished reply need escalating?

    transaction.on_commit(lambda: inspect_reply.delay(reply.pk))


class _LeaseHeartbeat(threading.Thread):
    """Renews the lease while the attempt runs, also when no text flows (a model that
    is slow to its first token, a long tool call), so recovery never takes a live reply."""

    def __init__(self, reply: Message) -> None:
        super().__init__(name=f"lease-{reply.pk}", daemon=True)
        self.reply = reply
        self.stopped = threading.Event()

    def run(self) -> None:
        try:
            while not self.stopped.wait(settings.REPLY_LEASE_SECONDS / 3):
                Message.objects.filter(
                    pk=self.reply.pk, status=Status.STREAMING, attempts=self.reply.attempts
                ).update(lease_expires_at=_lease_expiry())
        finally:
            connections.close_all()  # this thread's own connection

    def stop(self) -> None:
        self.stopped.set()


def _pause_owned(reply: Message) -> None:
    """Wait for a person: no lease (nothing is running), and the card is shown."""
    paused = Message.objects.filter(
        pk=reply.pk, attempts=reply.attempts, status=Status.STREAMING, cancel_requested=False
    ).update(status=Status.AWAITING_APPROVAL, lease_expires_at=None, updated_at=timezone.now())
    if not paused:
        _finish_owned(reply, status=Status.CANCELLED)
        return
    publish(reply.conversation_id, message_event(message_id=reply.pk))


def _finish_owned(
    reply: Message, *, status: str, error: str = "", result: StreamResult | None = None
) -> None:
    """Finish only if this attempt still owns the reply; a Stop that landed wins."""
    with transaction.atomic():
        current = Message.objects.select_for_update().filter(pk=reply.pk).first()
        if current is None or current.attempts != reply.attempts or current.status != Status.STREAMING:
            return
        if current.cancel_requested:
            status, error = Status.CANCELLED, ""
        _finish(current, status=status, error=error, result=result)


def replies_recover_orphaned() -> list[int]:
    """Queue another attempt for replies whose worker died (lease expired) or whose
    task never ran; returns their ids. Safe to run anywhere, any time: the claim
    lets only one attempt proceed."""
    from conversations.tasks import generate_reply

    now = timezone.now()
    stale_pending = now - timedelta(seconds=settings.REPLY_LEASE_SECONDS)
    orphan_ids = list(
        Message.objects.filter(role=Message.Role.ASSISTANT)
        .filter(
            Q(status=Status.STREAMING, lease_expires_at__lte=now)
            | Q(status=Status.PENDING, created_at__lte=stale_pending)
        )
        .values_list("pk", flat=True)
    )
    for message_id in orphan_ids:
        transaction.on_commit(lambda message_id=message_id: generate_reply.delay(message_id))
    return orphan_ids
