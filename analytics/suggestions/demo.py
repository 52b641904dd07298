"""The demo account's feedback traffic: a few recurring problems written as real conversations, so
that the suggestions page has something concrete to show from the first ``make run``:

- badge-reader questions the agents could not answer, which went to a person (add an article);
- quote and pricing questions routed to Support first and handed to Sales (add routing examples);
- travel-booking questions refused as out of scope (cover them, or not);
- the demo's learned pattern, whose answer was thumbed down three times (review it).

Written once per account (the first badge-reader question marks it), by the account's synthetic
users, then the suggestions are refreshed."""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from accounts.models import Account
from agents.models import AgentInstance
from agents.routing import scope
from analytics.suggestions.services import suggestions_refresh
from analytics.traffic import synthetic_users_ensure
from conversations.models import Conversation, Handoff, Message, Turn
from escalations.models import Escalation, LearnedPattern, Phase

BADGE_QUESTIONS = (
    "The badge reader at the Lisbon office rejects my new badge, what do I do?",
    "My access badge stopped working at the front door badge reader this morning.",
    "Badge reader on the 3rd floor blinks red when I tap my badge.",
    "How do I get my visitor badge activated for the Porto office badge readers?",
    "The badge reader in the car park doesn't recognise my badge any more.",
    "Who can reprogram my badge? The reader at reception keeps refusing it.",
)
QUOTE_QUESTIONS = (
    "Can I get a quote for 150 more seats with annual billing?",
    "Please send us a quote for 80 extra seats on our current contract.",
    "We need a quote for adding 40 seats to our plan.",
    "How much would 300 seats cost? Can you send a quote?",
    "Could you prepare a quote for 120 seats on the Enterprise plan?",
)
TRAVEL_QUESTIONS = (
    "Can you book me a flight to Berlin for the offsite next month?",
    "Book me a flight to Madrid for next week's workshop, please.",
    "I need a flight to Lisbon for the team trip in May, can you book it?",
    "Find me a cheap flight to Paris for the conference.",
)
PATTERN_QUESTIONS = (
    "The mobile app logs me out all the time since I updated it.",
    "Since the latest update the phone app keeps signing me out.",
    "Why does the mobile app kick me out every few minutes?",
)
PATTERN_PROBLEM = "The mobile app keeps logging me out every few minutes since the last update."
DONT_KNOW = "I don't know this one, and I won't guess. I've asked a colleague to look into it."


def _conversation(account, user, agent, when, question) -> tuple[Conversation, Message]:
    conversation = Conversation.objects.create(
        account=account, user=user, agent=agent, title=question[:60], arm=Conversation.Arm.MULTI_AGENT
    )
    asked = Message.objects.create(conversation=conversation, role=Message.Role.USER, content=question)
    return conversation, asked


def _reply(conversation, asked, agent, content, *, feedback: str = "") -> Message:
    return Message.objects.create(
        conversation=conversation,
        role=Message.Role.ASSISTANT,
        content=content,
        agent=agent,
        reply_to=asked,
        completed_at=asked.created_at,
        feedback=feedback,
        feedback_at=timezone.now() if feedback else None,
    )


def _backdate(conversation: Conversation, when) -> None:
    """Spread the demo's conversations over the last days, like the rest of its traffic."""
    Conversation.objects.filter(pk=conversation.pk).update(created_at=when, updated_at=when)
    Message.objects.filter(conversation=conversation).update(created_at=when, completed_at=when)
    Message.objects.filter(conversation=conversation, feedback_at__isnull=False).update(feedback_at=when)
    Turn.objects.filter(conversation=conversation).update(created_at=when, updated_at=when)
    Handoff.objects.filter(conversation=conversation).update(created_at=when)
    Escalation.objects.filter(conversation=conversation).update(created_at=when, queued_at=when)


def _route_state(outcome: str, agent: str | None, out_of_scope: str | None = None) -> dict:
    return {
        "routed": True,
        "agent": agent,
        "route": {"outcome": outcome, "agent": agent, "out_of_scope": out_of_scope},
    }


@transaction.atomic
def suggestions_demo_traffic(*, account: Account) -> bool:
    """Write the demo's feedback conversations once; False when they are there already."""
    if Message.objects.filter(conversation__account=account, content=BADGE_QUESTIONS[0]).exists():
        return False
    agents = {a.slug: a for a in AgentInstance.objects.filter(account=account)}
    support, sales = agents.get("support"), agents.get("sales")
    if support is None or sales is None:
        return False
    users = synthetic_users_ensure(account=account)
    now = timezone.now()
    day = timedelta(days=1)
    for n, question in enumerate(BADGE_QUESTIONS):
        conversation, asked = _conversation(account, users[n % len(users)], support, now, question)
        reply = _reply(conversation, asked, support, DONT_KNOW)
        Turn.objects.create(reply=reply, conversation=conversation, state=_route_state("routed", "support"))
        Escalation.objects.create(
            account=account,
            conversation=conversation,
            message=reply,
            trigger=Escalation.Trigger.CANNOT_RESOLVE,
            reason="The agent could not resolve it.",
            question=question,
            status=Escalation.Status.OPEN,
            phase=Phase.HUMAN,
            queued_at=now,
        )
        _backdate(conversation, now - (n + 1) * day)
    for n, question in enumerate(QUOTE_QUESTIONS):
        conversation, asked = _conversation(account, users[(n + 7) % len(users)], sales, now, question)
        reply = _reply(conversation, asked, sales, "Sales here: I'll put the quote together.")
        turn = Turn.objects.create(
            reply=reply, conversation=conversation, state=_route_state("routed", "support")
        )
        Handoff.objects.create(
            conversation=conversation,
            turn=turn,
            from_agent=support,
            to_agent=sales,
            via="tool",
            reason="Sales handles quotes and pricing",
        )
        _backdate(conversation, now - (n + 1) * day - timedelta(hours=3))
    for n, question in enumerate(TRAVEL_QUESTIONS):
        conversation, asked = _conversation(account, users[(n + 13) % len(users)], None, now, question)
        reply = _reply(conversation, asked, None, "That's outside what I can help with here.")
        state = _route_state("out_of_scope", None, scope.OFF_TOPIC)
        Turn.objects.create(reply=reply, conversation=conversation, state=state)
        _backdate(conversation, now - (n + 1) * day - timedelta(hours=6))
    pattern = LearnedPattern.objects.filter(account=account, problem=PATTERN_PROBLEM).first()
    if pattern is not None:
        for n, question in enumerate(PATTERN_QUESTIONS):
            conversation, asked = _conversation(account, users[(n + 19) % len(users)], support, now, question)
            reply = _reply(conversation, asked, support, DONT_KNOW)
            # Phase 1's answer is posted after the reply, answering no message of its own.
            answer = Message.objects.create(
                conversation=conversation,
                role=Message.Role.ASSISTANT,
                content=pattern.fix,
                model="quick fix",
                completed_at=now,
                feedback=Message.Feedback.DOWN,
                feedback_at=now,
            )
            Escalation.objects.create(
                account=account,
                conversation=conversation,
                message=reply,
                trigger=Escalation.Trigger.CANNOT_RESOLVE,
                reason="The agent could not resolve it.",
                question=question,
                status=Escalation.Status.RESOLVED,
                phase=Phase.QUICK_FIX,
                resolved_by_phase=Phase.QUICK_FIX,
                resolved_at=now,
                pattern_used=pattern,
                answer_message=answer,
            )
            _backdate(conversation, now - (n + 1) * day - timedelta(hours=9))
    return True


def suggestions_demo_seed(*, account: Account) -> None:
    suggestions_demo_traffic(account=account)
    suggestions_refresh(account_id=account.pk)
