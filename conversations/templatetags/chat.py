import json

from django import template

from agents.runtime.wording import handoff_sentence
from conversations.models import Handoff, Message
from conversations.selectors import reply_steps, reply_variants

register = template.Library()


@register.simple_tag
def steps_of(message: Message) -> dict:
    return reply_steps(message=message)


@register.simple_tag
def variants_of(message: Message) -> dict:
    return reply_variants(reply=message)


@register.filter
def pretty_json(value) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


@register.simple_tag
def handoff_text(handoff: Handoff, message: Message) -> str:
    """What the user reads about a hand-off: the new agent and, in their words, why. The recorded
    reason (the router's or the agent's diagnostics) is for operators."""
    target = handoff.to_agent
    name = target.name if target else "Another agent"
    if handoff.via == "tool" and handoff.reason and handoff.reason != "no reason given":
        # An agent's own transfer reason is written in words, for the conversation.
        return f"{name} is taking over: {handoff.reason.strip().rstrip('.')}."
    question = message.reply_to.content if message.reply_to_id and message.reply_to else ""
    return handoff_sentence(
        target=name,
        description=target.description if target else "",
        text=question,
    )


@register.filter
def question_queued(message: Message) -> bool:
    """A question whose reply waits in the double-texting queue: marked "queued" until it starts.
    ``messages_for_conversation`` annotates it; a message rendered alone (a socket) asks."""
    if message.role != Message.Role.USER:
        return False
    annotated = getattr(message, "queued", None)
    if annotated is not None:
        return bool(annotated)
    return Message.objects.filter(reply_to_id=message.pk, status=Message.Status.QUEUED).exists()
