"""What the escalation ladder does when the conversations app reports something: each notice
is already committed, so the inspection is queued straight away on the worker."""

from __future__ import annotations

from escalations.tasks import inspect_feedback, inspect_reply


def on_reply_finished(sender, *, message_id: int, **kwargs) -> None:
    """Does the finished reply need escalating?"""
    inspect_reply.delay(message_id)


def on_feedback_given(sender, *, message_id: int, **kwargs) -> None:
    """A thumbs-down asks the ladder to look at the reply."""
    inspect_feedback.delay(message_id)
