"""Durable work: the lease machinery that replies, orchestration tasks and escalation phases share.

A piece of durable work is a database row carrying ``attempts`` and ``lease_expires_at``
(``durable.models.LeasedWork``). A worker **claims** it under a lease (in the transaction
that locked the row), keeps the lease alive with a **heartbeat** while the attempt runs,
and **finishes** it by releasing the lease together with the final fields, in one
conditional write. Work whose lease passed (its worker died) or that never started (its
task message was lost) is an orphan: each app **registers** its kind of work with how to
find its orphans and how to re-send one, and ``recover_all`` (at worker start and from
beat) re-sends them all. The lease lives in the database, so nothing but the database needs
to know what was running.

This package sits below every app: it imports Django and Celery, never an app.
The model mixin is in ``durable.models``, imported by the apps' models only.
"""

from durable.leases import (
    Heartbeat,
    LeaseState,
    LeaseTerms,
    claim,
    expire,
    lease_state,
    lock,
    orphans,
    release,
    release_row,
    renew,
)
from durable.queueing import RecoveredTask
from durable.registry import WorkKind, kinds, recover, recover_all, register

__all__ = [
    "Heartbeat",
    "LeaseState",
    "LeaseTerms",
    "RecoveredTask",
    "WorkKind",
    "claim",
    "expire",
    "kinds",
    "lease_state",
    "lock",
    "orphans",
    "recover",
    "recover_all",
    "register",
    "release",
    "release_row",
    "renew",
]
