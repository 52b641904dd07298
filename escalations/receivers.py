"""What the escalation ladder does when the conversations app reports something: each notice
is already committed, so the inspection is queued straight away on the worker.

While the broker is unreachable (Redis restarting), the inspection runs here and now instead of
being lost with its task message: nothing else would look at that reply again, whereas a phase it
opens is durable work (its message, if it cannot be queued either, is sent by the recovery scan).
"""

from __future__ import annotations

import logging

from durable.queueing import BROKER_UNAVAILABLE
from escalations.tasks import inspect_feedback, inspect_reply
from escalations.triggers import feedback_inspect, reply_inspect

logger = logging.getLogger(__name__)


def on_reply_finished(sender, *, message_id: int, **kwargs) -> None:
    """Does the finished reply need escalating?"""
    try:
        inspect_reply.delay(message_id)
    except BROKER_UNAVAILABLE as error:
        logger.warning("inspecting reply %s here: the broker is unavailable (%s)", message_id, error)
        reply_inspect(reply_id=message_id)


def on_feedback_given(sender, *, message_id: int, **kwargs) -> None:
    """A thumbs-down asks the ladder to look at the reply."""
    try:
        inspect_feedback.delay(message_id)
    except BROKER_UNAVAILABLE as error:
        logger.warning("inspecting feedback on %s here: the broker is unavailable (%s)", message_id, error)
        feedback_inspect(message_id=message_id)
