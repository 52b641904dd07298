"""The Redis broker transport, with one fix that lets a Celery worker live through a Redis restart.

When the broker connection drops, Celery closes it and kombu's Redis channel, on close, restores the
messages it had delivered and not yet acknowledged (``acks_late``: every reply being written). By
then kombu has already detached the transport from its connection, so the restore fails with an
``AttributeError`` (kombu ``_connparams``: ``connection.client`` is None). Celery does not count that
as a connection error and stops the worker: "Unrecoverable error", and the process exits.

Here the restore is skipped when the connection is already gone, and so is the acknowledgement of
a task that was running across the drop and ends on the new connection (the same error). Nothing is
lost by it: a Redis that restarted empty has nothing left to restore, a Redis that kept its data
hands the messages back after the visibility timeout, and ``durable``'s recovery scan re-sends
unfinished work from the database either way. Installed by ``config/celery.py`` for the
``redis://``, ``rediss://`` and ``redis+socket://`` URLs.
"""

from __future__ import annotations

from kombu.transport import TRANSPORT_ALIASES, virtual
from kombu.transport import redis as kombu_redis


class QoS(kombu_redis.QoS):
    def _detached(self) -> bool:
        transport = self.channel.connection
        return transport is None or transport.client is None

    def restore_unacked(self, client=None) -> None:
        if client is None and self._detached():
            self._delivered.clear()
            return
        super().restore_unacked(client)

    def ack(self, delivery_tag) -> None:
        # A task that was running when the connection dropped ends on the new connection: its
        # message belongs to the old one and can no longer be acknowledged. Forget it here.
        if self._detached():
            virtual.QoS.ack(self, delivery_tag)
            return
        super().ack(delivery_tag)

    def reject(self, delivery_tag, requeue=False) -> None:
        if self._detached():
            virtual.QoS.ack(self, delivery_tag)
            return
        super().reject(delivery_tag, requeue=requeue)


class Channel(kombu_redis.Channel):
    QoS = QoS


class Transport(kombu_redis.Transport):
    Channel = Channel


def install() -> None:
    for scheme in ("redis", "rediss"):
        TRANSPORT_ALIASES[scheme] = "config.broker:Transport"
