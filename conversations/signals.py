"""Signals other apps listen to, so this app never imports them.

Each is sent after the transaction that made it true has committed:

- ``reply_finished``, with ``message_id``: an assistant reply reached a final status (complete,
  failed or cancelled) at the end of a turn.
- ``feedback_given``, with ``message_id``: the conversation's owner rated a reply (or took the
  rating back).
"""

from django.db import transaction
from django.dispatch import Signal

reply_finished = Signal()
feedback_given = Signal()


def send_on_commit(signal: Signal, **payload) -> None:
    """Send ``signal`` once the current transaction commits (at once outside one)."""
    transaction.on_commit(lambda: signal.send(sender=None, **payload))
