"""Claim under a lease, heartbeat, finish (release), and the query for orphans.

Each kind of work keeps its own decision of *whether* a row may be taken (a reply that was
cancelled, a task whose run is over, a phase the escalation moved past); these functions
are the part that was the same everywhere: the lease's state, counting an attempt, keeping
the lease alive, clearing it together with the final write, and finding what a dead
worker left.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, connections
from django.db.models import Model, Q, QuerySet
from django.utils import timezone

logger = logging.getLogger(__name__)


class LeaseState(enum.Enum):
    NONE = "none"  # nobody holds it: never claimed, finished, or waiting on something else
    LIVE = "live"  # a worker holds it and renews it
    EXPIRED = "expired"  # its worker stopped renewing: an orphan


WAITING_GRACE_SECONDS = 20.0


@dataclass(frozen=True)
class LeaseTerms:
    """How long one kind of work's lease lasts and how many attempts it gets, named by
    settings and read at each use (tests and deployments change them)."""

    seconds_setting: str
    max_attempts_setting: str = ""

    @property
    def seconds(self) -> float:
        return float(getattr(settings, self.seconds_setting))

    @property
    def max_attempts(self) -> int | None:
        return int(getattr(settings, self.max_attempts_setting)) if self.max_attempts_setting else None

    def expiry(self, now: datetime | None = None) -> datetime:
        return (now or timezone.now()) + timedelta(seconds=self.seconds)

    def stale_before(self, now: datetime | None = None) -> datetime:
        """Work waiting since before this never started: its task message was lost (Redis
        restarted empty, or was down when the web queued it). The grace a queued message gets is
        one lease's length, at most ``WAITING_GRACE_SECONDS``, so a lost message is re-sent within
        a minute (grace plus the scan's interval). Re-sending one that was only slow is harmless:
        the second claim finds the work taken and does nothing."""
        grace = min(self.seconds, WAITING_GRACE_SECONDS)
        return (now or timezone.now()) - timedelta(seconds=grace)

    def exhausted(self, count: int) -> bool:
        """Whether ``count`` (attempts, or interruptions) has used up the attempts allowed."""
        limit = self.max_attempts
        return limit is not None and count >= limit


def lease_state(row: Model, *, now: datetime | None = None) -> LeaseState:
    expires = row.lease_expires_at
    if expires is None:
        return LeaseState.NONE
    return LeaseState.LIVE if expires > (now or timezone.now()) else LeaseState.EXPIRED


def lock(queryset: QuerySet, pk: int) -> Model | None:
    """The row, locked until the caller's transaction ends. Only the row itself: PostgreSQL
    cannot lock the nullable side of an outer join that ``select_related`` may add."""
    return queryset.select_for_update(of=("self",)).filter(pk=pk).first()


def claim(row: Model, *, terms: LeaseTerms, update_fields: tuple[str, ...] | list[str] = ()) -> None:
    """Take ``row`` for a new attempt: count it and start its lease, saving ``update_fields``
    too. Call it in the transaction that locked the row and decided it may be taken."""
    row.attempts += 1
    row.lease_expires_at = terms.expiry()
    row.save(update_fields=["attempts", "lease_expires_at", *update_fields])


def renew(owned: QuerySet, *, terms: LeaseTerms) -> bool:
    """Push the lease on, if the attempt still owns the work (``owned`` filters on what
    makes it ours: status, attempt number). Returns whether it did."""
    return owned.update(lease_expires_at=terms.expiry()) > 0


def release(owned: QuerySet, **changes: object) -> bool:
    """Finish or give back: clear the lease and write the outcome (or the state the work
    returns to) in one conditional update, if the attempt still owns the work. Returns
    whether it did; an attempt that lost the work changes nothing."""
    return owned.update(lease_expires_at=None, **changes) > 0


def release_row(row: Model, *, update_fields: list[str] | None = None) -> None:
    """``release`` for a row already locked and changed in memory: clear its lease and save."""
    row.lease_expires_at = None
    row.save(update_fields=None if update_fields is None else [*update_fields, "lease_expires_at"])


def expire(owned: QuerySet) -> bool:
    """End the lease now (a transient error): the retry that follows may claim it at once."""
    return owned.update(lease_expires_at=timezone.now()) > 0


def orphans(
    *,
    terms: LeaseTerms,
    running: Q,
    waiting: Q | None = None,
    waiting_since: str = "",
    now: datetime | None = None,
) -> Q:
    """The filter for orphaned work: ``running`` under a lease that passed (its worker died),
    or ``waiting`` since before the grace period, by the ``waiting_since`` field (never
    started: the message that was to start it was lost)."""
    now = now or timezone.now()
    found = running & Q(lease_expires_at__lte=now)
    if waiting is not None:
        found |= waiting & Q(**{f"{waiting_since}__lte": terms.stale_before(now)})
    return found


class Heartbeat(threading.Thread):
    """Renews a lease while its attempt runs, also when nothing else happens (a model slow
    to its first token, a long tool call), so recovery only takes work whose worker died.

    It renews every third of the lease, so a lease can be short (recovery waits for it to pass
    after a worker dies) and still survive a renewal or two that the database was too slow or
    too far away to take: a failed renewal is tried again at the next turn, and only a database
    gone for longer than two thirds of a lease lets the lease run out (the attempt's own writes
    fail then too, and recovery resumes the work from its checkpoint).

    ``lost`` turns true, and the heartbeat ends, once the work is no longer the attempt's
    (``owned`` matches nothing: cancelled, finished, taken over); a loop may read it to stop.
    With ``poll_seconds`` that is noticed within that time instead of at the next renewal.
    It never raises into the attempt.
    """

    def __init__(
        self, owned: QuerySet, *, terms: LeaseTerms, name: str, poll_seconds: float | None = None
    ) -> None:
        super().__init__(name=name, daemon=True)
        self.owned = owned
        self.terms = terms
        self.poll_seconds = poll_seconds
        self.lost = False
        self._done = threading.Event()

    def run(self) -> None:
        interval = self.terms.seconds / 3
        wait = min(self.poll_seconds, interval) if self.poll_seconds else interval
        renewed = time.monotonic()
        try:
            while not self._done.wait(wait):
                try:
                    # Half a wait of slack: a wait that returns a hair early still renews.
                    if time.monotonic() - renewed + wait / 2 >= interval:
                        alive = renew(self.owned, terms=self.terms)
                        renewed = time.monotonic()
                    else:
                        alive = self.owned.exists()
                except DatabaseError as error:
                    logger.warning(
                        "heartbeat %s could not reach the database; trying again: %s", self.name, error
                    )
                    connections.close_all()  # a broken connection is opened afresh next turn
                    continue
                if not alive:
                    self.lost = True
                    return
        except Exception:
            logger.exception("heartbeat %s failed; its lease will run out", self.name)
        finally:
            connections.close_all()  # this thread's own connections

    def stop(self) -> None:
        self._done.set()
