import json

from django import template

from conversations.models import Message
from conversations.selectors import reply_steps

register = template.Library()


@register.simple_tag
def steps_of(message: Message) -> dict:
    return reply_steps(message=message)


@register.filter
def pretty_json(value) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)
