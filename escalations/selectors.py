"""Reads for escalations, every one scoped to an account."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Case, Min, Q, QuerySet, Value, When
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.timesince import timesince, timeuntil

from accounts.models import Account, Membership
from conversations.models import Conversation, Message
from escalations.models import Escalation, LearnedPattern

AGE_FILTERS = {"1h": timedelta(hours=1), "4h": timedelta(hours=4), "24h": timedelta(hours=24)}
STATUS_FILTERS = {"queue": Escalation.IN_QUEUE, **{s: (s,) for s in Escalation.Status.values}, "all": ()}
# The queue's sort orders, by URL value; "triage" (the default) is what a person should take next.
QUEUE_SORTS = {
    "triage": "Next to take",
    "oldest": "Oldest first",
    "newest": "Newest first",
    "priority": "Most urgent first",
}


def escalations_for_account(*, account: Account) -> QuerySet[Escalation]:
    return Escalation.objects.filter(account=account).select_related(
        "assignee", "conversation__user", "resolved_by"
    )


def escalations_filtered(
    *,
    account: Account,
    status: str = "queue",
    priority: str = "",
    older_than: str = "",
    sort: str = "triage",
) -> QuerySet[Escalation]:
    """The queue as an operator filters it: by status (``queue`` is everything a person
    still has to act on), priority, and age (created longer ago than 1h, 4h or 24h);
    sorted by ``sort`` (one of QUEUE_SORTS; by default unclaimed ones first, then by
    priority, oldest first)."""
    escalations = escalations_for_account(account=account)
    statuses = STATUS_FILTERS.get(status, Escalation.IN_QUEUE)
    if statuses:
        escalations = escalations.filter(status__in=statuses)
    if priority.isdigit():
        escalations = escalations.filter(priority=int(priority))
    if older_than in AGE_FILTERS:
        escalations = escalations.filter(created_at__lte=timezone.now() - AGE_FILTERS[older_than])
    if sort == "oldest":
        return escalations.order_by("created_at", "id")
    if sort == "newest":
        return escalations.order_by("-created_at", "-id")
    if sort == "priority":
        return escalations.order_by("-priority", "created_at", "id")
    # What nobody has taken first, then the most urgent, then the longest waiting.
    unclaimed_first = Case(
        When(status=Escalation.Status.OPEN, assignee__isnull=True, then=Value(0)), default=Value(1)
    )
    return escalations.order_by(unclaimed_first, "-priority", "created_at", "id")


def escalation_get(*, account: Account, pk: int) -> Escalation:
    """The account's escalation, or 404 (another account's is as absent as a missing one)."""
    return get_object_or_404(escalations_for_account(account=account), pk=pk)


def escalation_transcript(*, escalation: Escalation) -> QuerySet[Message]:
    return escalation.conversation.messages.select_related("agent", "sent_by").order_by("created_at", "id")


def escalation_active_in_conversation(*, conversation_id: int) -> Escalation | None:
    """An escalation of the conversation that is still being worked on (ladder or person)."""
    return (
        Escalation.objects.filter(conversation_id=conversation_id)
        .exclude(status=Escalation.Status.RESOLVED)
        .order_by("-created_at")
        .first()
    )


def conversation_is_hidden(*, conversation_id: int) -> bool:
    """A conversation nobody reads: a shadow answer or an evaluation run, written for comparison."""
    return Conversation.objects.hidden().filter(pk=conversation_id).exists()


def operators_for_account(*, account_id: int) -> QuerySet:
    return (
        get_user_model()
        .objects.filter(
            is_active=True,
            memberships__account_id=account_id,
            memberships__role__in=[Membership.Role.OPERATOR, Membership.Role.ADMIN],
        )
        .order_by("username")
    )


def is_operator_of(*, user: AbstractBaseUser, account_id: int) -> bool:
    return operators_for_account(account_id=account_id).filter(pk=user.pk).exists()


def patterns_for_account(*, account: Account) -> QuerySet[LearnedPattern]:
    return LearnedPattern.objects.filter(account=account).select_related("source_escalation")


def pattern_get(*, account: Account, pk: int) -> LearnedPattern:
    return get_object_or_404(patterns_for_account(account=account), pk=pk)


@dataclass(frozen=True)
class SlaClock:
    """One SLA target of an escalation: when it is due, when it was met, and whether it is breached."""

    label: str
    due_at: datetime | None
    met_at: datetime | None
    now: datetime

    @property
    def breached(self) -> bool:
        if self.due_at is None:
            return False
        return (self.met_at or self.now) > self.due_at

    @property
    def remaining(self) -> timedelta | None:
        if self.due_at is None or self.met_at is not None:
            return None
        return self.due_at - self.now

    @property
    def summary(self) -> str:
        """In words, to the largest unit: "due in 7 hours", "breached 2 days ago", "met"."""
        if self.due_at is None:
            return "—"
        if self.met_at is not None:
            return f"late by {timesince(self.due_at, self.met_at, depth=1)}" if self.breached else "met"
        if self.breached:
            return f"breached {timesince(self.due_at, self.now, depth=1)} ago"
        return f"due in {timeuntil(self.due_at, self.now, depth=1)}"

    @property
    def state(self) -> str:
        if self.due_at is None:
            return "none"
        if self.breached:
            return "breached"
        return "met" if self.met_at else "running"


def sla_clocks(escalation: Escalation, now: datetime | None = None) -> list[SlaClock]:
    now = now or timezone.now()
    return [
        SlaClock("First response", escalation.first_response_due_at, escalation.first_response_at, now),
        SlaClock("Resolution", escalation.resolution_due_at, escalation.resolved_at, now),
    ]


def breach_filter(now: datetime) -> Q:
    """Escalations in the queue past a due time they have not met."""
    return Q(status__in=Escalation.IN_QUEUE) & (
        Q(first_response_at__isnull=True, first_response_due_at__lt=now) | Q(resolution_due_at__lt=now)
    )


def queue_health(*, account_id: int | None = None) -> dict:
    """Open count, the oldest waiting one's age and SLA breaches (all accounts by default)."""
    now = timezone.now()
    escalations = (
        Escalation.objects.all() if account_id is None else Escalation.objects.filter(account_id=account_id)
    )
    in_queue = escalations.filter(status__in=Escalation.IN_QUEUE)
    oldest = in_queue.aggregate(oldest=Min("queued_at"))["oldest"]
    return {
        "open": in_queue.count(),
        "unclaimed": in_queue.filter(assignee__isnull=True).count(),
        "on_ladder": escalations.filter(status=Escalation.Status.LADDER).count(),
        "oldest_age_seconds": int((now - oldest).total_seconds()) if oldest else 0,
        "sla_breaches": escalations.filter(breach_filter(now)).count(),
    }


def operator_account_for_socket(*, user: AbstractBaseUser, account_id: int | None) -> int | None:
    """The current account's id if the user is its operator or admin; None means refuse."""
    from accounts.selectors import membership_current

    if not user.is_authenticated:
        return None
    membership = membership_current(user=user, account_id=account_id)
    if membership is None or not membership.is_operator:
        return None
    return membership.account_id
