"""The questions that went wrong in an account's chats, read as evidence for suggestions.

Four sources, each a user question with where to see it:

- a request that went to a person because no agent could settle it (escalations that reached the
  queue after "cannot resolve" or a thumbs-down), and a thumbed-down reply: knowledge gaps;
- an off-topic question the router refused as out of scope (``Turn.state["route"]``);
- a first message routed to one agent and handed to another within its first turn (a misroute);
- a thumbed-down answer that a learned pattern gave (Phase 1 of the ladder).

Hidden runs (shadow, evaluation) are never evidence. A question is counted once, under the first
source that claims it (pattern, escalation, out of scope, thumbs-down)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, OuterRef, Subquery
from django.utils import timezone

from accounts.models import Account
from agents.routing import scope
from conversations.models import Conversation, Handoff, Message, Turn
from escalations.models import Escalation

WINDOW_DAYS = 30
MAX_PER_SOURCE = 2000  # the newest questions of each source: enough to find what recurs

GAP_TRIGGERS = (Escalation.Trigger.CANNOT_RESOLVE, Escalation.Trigger.THUMBS_DOWN)


@dataclass(frozen=True)
class Evidence:
    source: str  # "escalation", "thumbs_down", "out_of_scope", "handoff", "pattern"
    question: str
    message_id: int  # the user's message
    conversation_id: int
    at: datetime
    escalation_id: int | None = None
    from_agent_id: int | None = None
    to_agent_id: int | None = None
    pattern_id: int | None = None

    def as_json(self) -> dict:
        return {
            "source": self.source,
            "question": self.question,
            "message_id": self.message_id,
            "conversation_id": self.conversation_id,
            "escalation_id": self.escalation_id,
            "at": self.at.isoformat(),
        }


@dataclass
class AccountEvidence:
    gaps: list[Evidence]  # went to a person, or thumbed down
    asked: dict[str, int]  # for each gap question's exact text: how often it was asked in the window
    questions_asked: int  # every question asked in the window
    out_of_scope: list[Evidence]
    misroutes: list[Evidence]
    pattern_downs: list[Evidence]

    @property
    def total(self) -> int:
        return len(self.gaps) + len(self.out_of_scope) + len(self.misroutes) + len(self.pattern_downs)


def _chats(account: Account):
    return {"conversation__account": account, "conversation__purpose": Conversation.Purpose.CHAT}


def _question_of(message: Message) -> tuple[int, str] | None:
    """The user message behind a message (itself, or the question an assistant reply answers)."""
    if message.role == Message.Role.USER:
        return message.pk, message.content
    if message.reply_to_id is None:
        return None
    return message.reply_to_id, message.reply_to.content


def pattern_downs(*, account: Account, since: datetime) -> list[Evidence]:
    escalations = (
        Escalation.objects.filter(
            account=account,
            conversation__purpose=Conversation.Purpose.CHAT,
            pattern_used__isnull=False,
            answer_message__feedback=Message.Feedback.DOWN,
            answer_message__feedback_at__gte=since,
        )
        .select_related("message__reply_to", "answer_message")
        .order_by("-answer_message__feedback_at", "-id")[:MAX_PER_SOURCE]
    )
    found = []
    for escalation in escalations:
        question = _question_of(escalation.message)
        if question is None:
            continue
        found.append(
            Evidence(
                source="pattern",
                question=escalation.question or question[1],
                message_id=question[0],
                conversation_id=escalation.conversation_id,
                at=escalation.answer_message.feedback_at,
                escalation_id=escalation.pk,
                pattern_id=escalation.pattern_used_id,
            )
        )
    return found


def escalated_gaps(*, account: Account, since: datetime) -> list[Evidence]:
    escalations = (
        Escalation.objects.filter(
            account=account,
            conversation__purpose=Conversation.Purpose.CHAT,
            trigger__in=GAP_TRIGGERS,
            queued_at__gte=since,
            pattern_used__isnull=True,
        )
        .select_related("message__reply_to")
        .order_by("-queued_at", "-id")[:MAX_PER_SOURCE]
    )
    found = []
    for escalation in escalations:
        question = _question_of(escalation.message)
        if question is None:
            continue
        found.append(
            Evidence(
                source="escalation",
                question=escalation.question or question[1],
                message_id=question[0],
                conversation_id=escalation.conversation_id,
                at=escalation.queued_at,
                escalation_id=escalation.pk,
            )
        )
    return found


def thumbs_down_gaps(*, account: Account, since: datetime) -> list[Evidence]:
    replies = (
        Message.objects.filter(
            **_chats(account),
            role=Message.Role.ASSISTANT,
            feedback=Message.Feedback.DOWN,
            feedback_at__gte=since,
            sent_by__isnull=True,
            reply_to__isnull=False,
        )
        .select_related("reply_to")
        .order_by("-feedback_at", "-id")[:MAX_PER_SOURCE]
    )
    return [
        Evidence(
            source="thumbs_down",
            question=reply.reply_to.content,
            message_id=reply.reply_to_id,
            conversation_id=reply.conversation_id,
            at=reply.feedback_at,
        )
        for reply in replies
    ]


def out_of_scope_questions(*, account: Account, since: datetime) -> list[Evidence]:
    """Off-topic refusals only: a greeting, thanks or gibberish is no gap in what the agents cover."""
    turns = (
        Turn.objects.filter(
            **_chats(account),
            created_at__gte=since,
            state__route__outcome="out_of_scope",
            state__route__out_of_scope=scope.OFF_TOPIC,
        )
        .select_related("reply__reply_to")
        .order_by("-created_at", "-id")[:MAX_PER_SOURCE]
    )
    return [
        Evidence(
            source="out_of_scope",
            question=turn.reply.reply_to.content,
            message_id=turn.reply.reply_to_id,
            conversation_id=turn.conversation_id,
            at=turn.created_at,
        )
        for turn in turns
        if turn.reply.reply_to_id is not None
    ]


def first_turn_misroutes(*, account: Account, since: datetime) -> list[Evidence]:
    """Hand-offs in a conversation's first turn: the router's first agent was the wrong one."""
    first_turn = Turn.objects.filter(conversation=OuterRef("conversation")).order_by("created_at", "id")
    handoffs = (
        Handoff.objects.filter(
            **_chats(account),
            created_at__gte=since,
            from_agent__isnull=False,
            to_agent__isnull=False,
        )
        .annotate(first_turn=Subquery(first_turn.values("id")[:1]))
        .select_related("turn__reply__reply_to")
        .order_by("-created_at", "-id")
    )
    found, seen = [], set()
    for handoff in handoffs:
        if handoff.turn_id != handoff.first_turn or handoff.turn_id in seen:
            continue  # a later turn's hand-off is a change of subject; one per turn (the first move)
        seen.add(handoff.turn_id)
        question = handoff.turn.reply.reply_to
        if question is None:
            continue
        found.append(
            Evidence(
                source="handoff",
                question=question.content,
                message_id=question.pk,
                conversation_id=handoff.conversation_id,
                at=handoff.created_at,
                from_agent_id=handoff.from_agent_id,
                to_agent_id=handoff.to_agent_id,
            )
        )
        if len(found) >= MAX_PER_SOURCE:
            break
    return found


def _questions(account: Account, since: datetime):
    return Message.objects.filter(**_chats(account), role=Message.Role.USER, created_at__gte=since)


def times_asked(*, account: Account, since: datetime, texts: set[str]) -> dict[str, int]:
    """How often each text was asked, word for word: a question asked 700 times and thumbed down
    40 times fails no more than the account's answers in general."""
    counts: dict[str, int] = {}
    ordered = sorted(texts)
    for start in range(0, len(ordered), 500):
        rows = (
            _questions(account, since)
            .filter(content__in=ordered[start : start + 500])
            .values("content")
            .annotate(n=Count("id"))
        )
        counts.update({row["content"]: row["n"] for row in rows})
    return counts


def account_evidence(*, account: Account, now: datetime | None = None) -> AccountEvidence:
    since = (now or timezone.now()) - timedelta(days=WINDOW_DAYS)
    claimed: set[int] = set()

    def unclaimed(items: list[Evidence]) -> list[Evidence]:
        kept = [e for e in items if e.message_id not in claimed and e.question.strip()]
        claimed.update(e.message_id for e in kept)
        return kept

    patterns = unclaimed(pattern_downs(account=account, since=since))
    escalated = unclaimed(escalated_gaps(account=account, since=since))
    refused = unclaimed(out_of_scope_questions(account=account, since=since))
    disliked = unclaimed(thumbs_down_gaps(account=account, since=since))
    # A misroute is about routing, not knowledge: the same question may also be a gap.
    misroutes = [e for e in first_turn_misroutes(account=account, since=since) if e.question.strip()]
    gaps = sorted(escalated + disliked, key=lambda e: (e.at, e.message_id))
    return AccountEvidence(
        gaps=gaps,
        asked=times_asked(account=account, since=since, texts={e.question for e in gaps}),
        questions_asked=_questions(account, since).count(),
        out_of_scope=sorted(refused, key=lambda e: (e.at, e.message_id)),
        misroutes=sorted(misroutes, key=lambda e: (e.at, e.message_id)),
        pattern_downs=sorted(patterns, key=lambda e: (e.at, e.message_id)),
    )
