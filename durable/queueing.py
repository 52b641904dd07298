"""Queueing the message that starts a piece of durable work, when Redis may be down.

The row is committed before its message is queued (``transaction.on_commit``), and the recovery
scan re-sends work that is waiting with no message (``durable.orphans``). So a message that
cannot be queued because Redis is restarting loses nothing: the work is started by the scan once
Redis is back. Raising instead would turn a saved chat message into an error page after the fact.
"""

from __future__ import annotations

import logging

import kombu.exceptions
import redis
from celery import Task

logger = logging.getLogger(__name__)

# What queueing a task raises while the broker (Redis) is unreachable.
BROKER_UNAVAILABLE = (kombu.exceptions.OperationalError, redis.RedisError)


class RecoveredTask(Task):
    """The base of tasks that start durable work. Queueing one while the broker is unreachable
    logs and returns None; the recovery scan sends it once the broker is back."""

    abstract = True

    def apply_async(self, args=None, kwargs=None, **options):
        try:
            return super().apply_async(args, kwargs, **options)
        except BROKER_UNAVAILABLE as error:
            logger.warning("%s%s not queued (broker unavailable; the recovery scan re-sends it): %s",
                           self.name, tuple(args or ()), error)  # fmt: skip
            return None
