"""The aggregates the analytics pages read (see the models), and their refresh.

``rollups_refresh`` runs from beat every minute per account: it recomputes the hours and the
conversations touched since the last refresh (with a look-back, since a reply completes, and a
hand-off happens, a while after the row is created) plus those whose replies got feedback since.
``rollups_rebuild`` recomputes everything from a moment on (``generate_traffic`` and backfills).

Latency percentiles are read from log histograms: bin ``b`` holds values in [1.05^b, 1.05^(b+1)) ms,
so a percentile is right to within 2.5% (the bin's geometric middle is reported).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from django.db import transaction
from django.db.models import Count, F, FloatField, Min, Q, Sum
from django.db.models.functions import Cast, TruncHour
from django.utils import timezone

from accounts.models import Account
from analytics.models import (
    ConversationFact,
    ConversationHour,
    GuardrailHour,
    HandoffHour,
    ReplyDay,
    ReplyHour,
    RollupState,
)
from conversations.models import Conversation, GuardrailEvent, Handoff, Message, Turn
from escalations.models import Escalation

BIN_BASE = 1.05
LOOK_BACK = timedelta(hours=2)
BATCH = 5000


def latency_bin(value: float) -> int:
    return math.floor(math.log(max(value, 1.0), BIN_BASE))


def bin_value(index: int) -> float:
    """A bin's representative value: its geometric middle."""
    return BIN_BASE ** (index + 0.5)


def bins_merge(target: dict, bins: dict) -> dict:
    for key, count in bins.items():
        target[int(key)] = target.get(int(key), 0) + count
    return target


def bins_percentile(bins: dict, fraction: float) -> float | None:
    """Nearest-rank percentile of a histogram: the bin holding the value ranked ceil(fraction * n)."""
    total = sum(bins.values())
    if not total:
        return None
    rank = max(1, math.ceil(fraction * total))
    seen = 0
    for index in sorted(bins):
        seen += bins[index]
        if seen >= rank:
            return bin_value(index)
    return None


def _hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


# --- hourly tables -------------------------------------------------------------------------------


def _rebuild_hours(account: Account, start: datetime, end: datetime) -> None:
    """Recompute the hourly rows of [start, end) (start on an hour)."""
    replies: dict[tuple, dict] = {}
    rows = (
        Message.objects.filter(
            conversation__account=account, role=Message.Role.ASSISTANT, sent_by__isnull=True,
            created_at__gte=start, created_at__lt=end,
        )
        .values_list(
            "created_at", "conversation__arm", "agent_id", "model", "status", "prompt_tokens",
            "completion_tokens", "cost_usd", "latency_ms", "first_token_ms", "feedback",
        )
        .iterator(chunk_size=20000)
    )  # fmt: skip
    for created, arm, agent, model, status, prompt, completion, cost, latency, first_token, feedback in rows:
        key = (_hour(created), arm, agent, model)
        row = replies.get(key)
        if row is None:
            row = replies[key] = {
                "replies": 0, "complete": 0, "failed": 0, "prompt_tokens": 0, "completion_tokens": 0,
                "cost_usd": 0.0, "latency_count": 0, "latency_sum": 0.0, "latency_bins": {},
                "first_token_bins": {}, "thumbs_up": 0, "thumbs_down": 0,
            }  # fmt: skip
        row["replies"] += 1
        row["prompt_tokens"] += prompt or 0
        row["completion_tokens"] += completion or 0
        row["cost_usd"] += float(cost or 0)
        if status == Message.Status.FAILED:
            row["failed"] += 1
        elif status == Message.Status.COMPLETE:
            row["complete"] += 1
            if latency is not None:
                row["latency_count"] += 1
                row["latency_sum"] += latency
                b = latency_bin(latency)
                row["latency_bins"][b] = row["latency_bins"].get(b, 0) + 1
            if first_token is not None:
                b = latency_bin(first_token)
                row["first_token_bins"][b] = row["first_token_bins"].get(b, 0) + 1
        if feedback == Message.Feedback.UP:
            row["thumbs_up"] += 1
        elif feedback == Message.Feedback.DOWN:
            row["thumbs_down"] += 1
    handoffs = (
        Handoff.objects.filter(conversation__account=account, created_at__gte=start, created_at__lt=end)
        .annotate(hour=TruncHour("created_at"))
        .values("hour", "from_agent_id", "to_agent_id", "via")
        .annotate(n=Count("id"))
    )
    guards = (
        GuardrailEvent.objects.filter(
            conversation__account=account, created_at__gte=start, created_at__lt=end
        )
        .annotate(hour=TruncHour("created_at"))
        .values("hour", "kind")
        .annotate(n=Count("id"))
    )
    with transaction.atomic():
        for model in (ReplyHour, HandoffHour, GuardrailHour):
            model.objects.filter(account=account, hour__gte=start, hour__lt=end).delete()
        hour_rows = [
            ReplyHour(account=account, hour=hour, arm=arm, agent_id=agent, model=model or "", **values)
            for (hour, arm, agent, model), values in replies.items()
        ]
        ReplyHour.objects.bulk_create(hour_rows, batch_size=1000)
        HandoffHour.objects.bulk_create(
            [
                HandoffHour(account=account, hour=r["hour"], from_agent_id=r["from_agent_id"],
                            to_agent_id=r["to_agent_id"], via=r["via"], count=r["n"])
                for r in handoffs
            ],
            batch_size=1000,
        )  # fmt: skip
        GuardrailHour.objects.bulk_create(
            [GuardrailHour(account=account, hour=r["hour"], kind=r["kind"], count=r["n"]) for r in guards],
            batch_size=1000,
        )
        _rebuild_days(account, start, end)


def _day(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


SUMMED = (
    "replies", "complete", "failed", "prompt_tokens", "completion_tokens", "cost_usd", "latency_count",
    "latency_sum", "thumbs_up", "thumbs_down",
)  # fmt: skip


def _rebuild_days(account: Account, start: datetime, end: datetime) -> None:
    """Recompute the daily reply rows of the days that [start, end) touches, from the hourly rows."""
    first, last = _day(start), _day(end - timedelta(microseconds=1)) + timedelta(days=1)
    days: dict[tuple, dict] = {}
    for row in ReplyHour.objects.filter(account=account, hour__gte=first, hour__lt=last).values(
        "hour", "arm", "agent_id", "model", "latency_bins", "first_token_bins", *SUMMED
    ):
        key = (_day(row["hour"]), row["arm"], row["agent_id"], row["model"])
        day = days.setdefault(
            key, {name: 0 for name in SUMMED} | {"latency_bins": {}, "first_token_bins": {}}
        )
        for name in SUMMED:
            day[name] += row[name]
        bins_merge(day["latency_bins"], row["latency_bins"])
        bins_merge(day["first_token_bins"], row["first_token_bins"])
    ReplyDay.objects.filter(account=account, hour__gte=first, hour__lt=last).delete()
    ReplyDay.objects.bulk_create(
        [
            ReplyDay(account=account, hour=day, arm=arm, agent_id=agent, model=model, **values)
            for (day, arm, agent, model), values in days.items()
        ],
        batch_size=1000,
    )


# --- conversation facts ----------------------------------------------------------------------------


def _facts_for(account: Account, ids: list[int]) -> list[ConversationFact]:
    latency = Cast("latency_ms", FloatField())
    complete = Q(role=Message.Role.ASSISTANT, status=Message.Status.COMPLETE, latency_ms__isnull=False)
    messages = {
        row["conversation_id"]: row
        for row in Message.objects.filter(conversation_id__in=ids)
        .values("conversation_id")
        .annotate(
            user_turns=Count("id", filter=Q(role=Message.Role.USER)),
            failed=Count("id", filter=Q(role=Message.Role.ASSISTANT, status=Message.Status.FAILED)),
            cost=Sum(Cast("cost_usd", FloatField())),
            latency_count=Count("id", filter=complete),
            latency_sum=Sum(latency, filter=complete),
            latency_squares=Sum(latency * latency, filter=complete),
            up=Count("id", filter=Q(feedback=Message.Feedback.UP)),
            down=Count("id", filter=Q(feedback=Message.Feedback.DOWN)),
        )
    }
    handoffs = dict(
        Handoff.objects.filter(conversation_id__in=ids)
        .values("conversation_id")
        .annotate(n=Count("id"))
        .values_list("conversation_id", "n")
    )
    first_turns = dict(
        Turn.objects.filter(conversation_id__in=ids)
        .values("conversation_id")
        .annotate(first=Min("id"))
        .values_list("conversation_id", "first")
    )
    reply_agents = dict(Turn.objects.filter(pk__in=first_turns.values()).values_list("pk", "reply__agent_id"))
    handed_from: dict[int, int] = {}
    for turn_id, source in (
        Handoff.objects.filter(turn_id__in=first_turns.values(), from_agent__isnull=False)
        .order_by("-id")
        .values_list("turn_id", "from_agent_id")
    ):
        handed_from[turn_id] = source  # ordered newest first: the earliest hand-off is written last
    escalated = set(
        Escalation.objects.filter(conversation_id__in=ids).values_list("conversation_id", flat=True)
    )
    # Every hidden run (shadow answers, evaluations) stays out of the cohort arms, not only shadows.
    shadows = set(Conversation.objects.hidden().filter(pk__in=ids).values_list("pk", flat=True))
    facts = []
    for pk, created, arm, routed in Conversation.objects.filter(pk__in=ids).values_list(
        "pk", "created_at", "arm", "routed"
    ):
        m = messages.get(pk, {})
        turn = first_turns.get(pk)
        source = handed_from.get(turn) if turn else None
        facts.append(
            ConversationFact(
                conversation_id=pk, account=account, created_at=created, arm=arm, routed=routed,
                first_agent_id=source or (reply_agents.get(turn) if turn else None),
                first_turn_handoff=source is not None, handoffs=handoffs.get(pk, 0),
                user_turns=m.get("user_turns", 0), failed_replies=m.get("failed", 0),
                cost_usd=m.get("cost") or 0.0, latency_count=m.get("latency_count", 0),
                latency_sum=m.get("latency_sum") or 0.0, latency_squares=m.get("latency_squares") or 0.0,
                thumbs_up=m.get("up", 0), thumbs_down=m.get("down", 0), escalated=pk in escalated,
                shadow=pk in shadows,
            )
        )  # fmt: skip
    return facts


def _rebuild_facts(account: Account, ids: Iterable[int]) -> set[datetime]:
    """Recompute the facts of these conversations; returns the hours they started in."""
    ids = sorted(set(ids))
    hours: set[datetime] = set()
    for start in range(0, len(ids), BATCH):
        batch = ids[start : start + BATCH]
        facts = _facts_for(account, batch)
        hours.update(_hour(fact.created_at) for fact in facts)
        with transaction.atomic():
            ConversationFact.objects.filter(conversation_id__in=batch).delete()
            ConversationFact.objects.bulk_create(facts, batch_size=1000)
    return hours


def _rebuild_conversation_hours(account: Account, hours: set[datetime]) -> None:
    if not hours:
        return
    turns, cost = F("user_turns"), F("cost_usd")
    rows = (
        ConversationFact.objects.filter(
            account=account, created_at__gte=min(hours), created_at__lt=max(hours) + timedelta(hours=1)
        )
        .annotate(hour=TruncHour("created_at"))
        .values("hour", "arm", "routed", "shadow", "first_agent_id")
        .annotate(
            conversations=Count("pk"), with_handoff=Count("pk", filter=Q(handoffs__gt=0)),
            first_turn_handoffs=Count("pk", filter=Q(first_turn_handoff=True)),
            with_error=Count("pk", filter=Q(failed_replies__gt=0)),
            escalated_n=Count("pk", filter=Q(escalated=True)),
            turns=Sum(turns), turns_squares=Sum(turns * turns), cost=Sum(cost), cost_squares=Sum(cost * cost),
            lat_n=Sum("latency_count"), lat_sum=Sum("latency_sum"), lat_sq=Sum("latency_squares"),
            up=Sum("thumbs_up"), down=Sum("thumbs_down"),
        )
    )  # fmt: skip
    objects = [
        ConversationHour(
            account=account, hour=r["hour"], arm=r["arm"], routed=r["routed"], shadow=r["shadow"],
            first_agent_id=r["first_agent_id"],
            conversations=r["conversations"], with_handoff=r["with_handoff"],
            first_turn_handoffs=r["first_turn_handoffs"], with_error=r["with_error"],
            escalated=r["escalated_n"],
            turns=r["turns"] or 0, turns_squares=r["turns_squares"] or 0, cost_usd=r["cost"] or 0.0,
            cost_squares=r["cost_squares"] or 0.0, latency_count=r["lat_n"] or 0,
            latency_sum=r["lat_sum"] or 0.0,
            latency_squares=r["lat_sq"] or 0.0, thumbs_up=r["up"] or 0, thumbs_down=r["down"] or 0,
        )
        for r in rows
        if r["hour"] in hours
    ]  # fmt: skip
    ordered = sorted(hours)
    with transaction.atomic():
        for start in range(0, len(ordered), 500):
            ConversationHour.objects.filter(account=account, hour__in=ordered[start : start + 500]).delete()
        ConversationHour.objects.bulk_create(objects, batch_size=1000)


def _touched_conversations(account: Account, since: datetime) -> set[int]:
    touched = set(
        Conversation.objects.filter(account=account, created_at__gte=since).values_list("pk", flat=True)
    )
    sources = [
        (Message, "created_at"),
        (Message, "feedback_at"),
        (Handoff, "created_at"),
        (Escalation, "created_at"),
    ]
    for model, field in sources:
        touched.update(
            model.objects.filter(conversation__account=account, **{f"{field}__gte": since})
            .values_list("conversation_id", flat=True)
            .distinct()
        )
    return touched


# --- entry points ------------------------------------------------------------------------------------


def rollups_rebuild(*, account: Account, since: datetime | None = None, now: datetime | None = None) -> None:
    """Recompute every aggregate of the account from ``since`` (default: its first conversation)."""
    now = now or timezone.now()
    if since is None:
        first = Conversation.objects.filter(account=account).order_by("created_at").first()
        since = first.created_at if first else now
    start = _hour(since)
    _rebuild_hours(account, start, _hour(now) + timedelta(hours=1))
    _rebuild_conversation_hours(account, _rebuild_facts(account, _touched_conversations(account, start)))
    RollupState.objects.update_or_create(account=account, defaults={"refreshed_at": now})


def rollups_refresh(*, account_id: int, now: datetime | None = None) -> None:
    """What changed since the last refresh, with a look-back; older hours whose replies got feedback."""
    now = now or timezone.now()
    account = Account.objects.get(pk=account_id)
    state = RollupState.objects.filter(account=account).first()
    if state is None:
        rollups_rebuild(account=account, now=now)
        return
    since = state.refreshed_at - LOOK_BACK
    feedback_hours = {
        _hour(created)
        for created in Message.objects.filter(
            conversation__account=account, feedback_at__gte=state.refreshed_at, created_at__lt=_hour(since)
        ).values_list("created_at", flat=True)
    }
    for hour in sorted(feedback_hours):
        _rebuild_hours(account, hour, hour + timedelta(hours=1))
    rollups_rebuild(account=account, since=since, now=now)


def rollup_accounts() -> list[int]:
    """Accounts with any conversation: the ones beat keeps up to date."""
    return list(Conversation.objects.values_list("account_id", flat=True).distinct().order_by())
