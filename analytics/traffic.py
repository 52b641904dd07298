"""Synthetic traffic for an account: conversations in both arms, replies with tokens, cost,
latency, failures and feedback, hand-offs (first-turn misroutes and later ones), guard-rail
stops, gated tool calls with approvals and denials.

It writes rows directly, in chunks: PostgreSQL through ``COPY`` (about 100k rows a second),
other databases through ``bulk_create``. Ids are reserved per chunk from each table's sequence
(PostgreSQL) or above the current maximum, so it can run beside live traffic on PostgreSQL.
"""

from __future__ import annotations

import math
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, models, transaction
from django.utils import timezone

from accounts.models import Account, Membership
from agents.models import AgentInstance
from analytics.models import TrafficBatch
from analytics.rollups import rollups_rebuild
from conversations.models import Approval, Conversation, GuardrailEvent, Handoff, Message, ToolCall, Turn
from escalations.models import LADDER, Escalation, PhaseRun

# Synthetic model names for agents that have none of their own, so per-model figures show a mix.
SYNTHETIC_MODELS = ("anthropic/claude-sonnet-4-5", "openai/gpt-4o-mini", "anthropic/claude-haiku-4-5")
PRICE_PER_1K_TOKENS = {  # USD, input and output, roughly list prices
    "anthropic/claude-sonnet-4-5": (0.003, 0.015),
    "openai/gpt-4o-mini": (0.00015, 0.0006),
    "anthropic/claude-haiku-4-5": (0.001, 0.005),
}
TOPICS = (
    "VPN drops every hour", "Licence count for the service desk", "Design a change approval flow",
    "Migrate tickets from the old tool", "Password reset loop", "Pricing for 200 agents",
    "Laptop onboarding checklist", "SLA report for last quarter", "Printer queue stuck",
    "Integrate the HR system", "Compare ITSM vendors", "Incident assignment rules",
)  # fmt: skip
TOOLS = ("kb_search", "ticket_create", "ticket_update", "http_action")
GATED_TOOLS = ("ticket_create", "ticket_update", "http_action")


@dataclass(frozen=True)
class TrafficProfile:
    conversations: int
    days: float = 30.0
    legacy_share: float = 0.3
    turns_mean: float = 3.0  # user messages per conversation
    handoff_share: float = 0.15  # multi-agent conversations with a hand-off after the first turn
    handoffs_mean: float = 1.5  # hand-offs per such conversation
    seed: int = 7
    multi_error_factor: float = 1.0  # the multi-agent arm's error rates times this (a seeded regression)


@dataclass
class GeneratedCounts:
    conversations: int = 0
    messages: int = 0
    turns: int = 0
    handoffs: int = 0
    guardrail_events: int = 0
    tool_calls: int = 0
    approvals: int = 0
    escalations: int = 0


@dataclass
class _AgentTraits:
    agent: AgentInstance
    model: str
    misroute: float
    error_rate: float
    latency_median_ms: float
    targets: list[int] = field(default_factory=list)


class _Ids:
    """Reserves blocks of primary keys so rows can be written with their ids (and referenced)."""

    def __init__(self, model: type[models.Model]) -> None:
        self.model = model

    def reserve(self, count: int) -> int:
        table = self.model._meta.db_table
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute(
                    "SELECT setval(pg_get_serial_sequence(%s, 'id'), "
                    "nextval(pg_get_serial_sequence(%s, 'id')) + %s - 1)",
                    [table, table, count],
                )
                return cursor.fetchone()[0] - count + 1
            cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {connection.ops.quote_name(table)}")  # noqa: S608
            return cursor.fetchone()[0] + 1


def _write(model: type[models.Model], rows: list[dict]) -> None:
    """Insert rows as given (``created_at`` included: ``bulk_create`` would overwrite auto_now_add)."""
    if not rows:
        return
    fields = [f for f in model._meta.concrete_fields if not (f.primary_key and f.attname not in rows[0])]
    defaults = {f.attname: f.get_default() for f in fields}  # rows may leave out different fields
    table = connection.ops.quote_name(model._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            from psycopg.types.json import Jsonb

            json_fields = {f.attname for f in fields if isinstance(f, models.JSONField)}
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(
                        [
                            Jsonb(value) if f.attname in json_fields and value is not None else value
                            for f in fields
                            for value in (row.get(f.attname, defaults.get(f.attname)),)
                        ]
                    )
            return
        placeholders = ", ".join(["%s"] * len(fields))
        cursor.executemany(
            f"INSERT INTO {table} ({columns}) VALUES ({placeholders})",  # noqa: S608 - names from models
            [
                [f.get_db_prep_save(row.get(f.attname, defaults.get(f.attname)), connection) for f in fields]
                for row in rows
            ],
        )


SYNTHETIC_USERS = 20
SYNTHETIC_REPLY = "Synthetic reply."
SYNTHETIC_ERROR = "The model did not answer in time."


def synthetic_username(*, account: Account, number: int) -> str:
    # The demo account's are plain synthetic-0001...; another account's carry its slug, as
    # usernames are unique across accounts.
    prefix = "synthetic" if account.slug == "demo" else f"synthetic-{account.slug}"
    return f"{prefix}-{number:04d}"


def synthetic_users_ensure(*, account: Account, count: int = SYNTHETIC_USERS) -> list:
    """The account's synthetic users, who own its synthetic traffic. They cannot log in (unusable
    password, inactive) and are no member of any account, so no page, cohort or rollout bucket
    counts them as people."""
    User = get_user_model()
    users = []
    for number in range(1, count + 1):
        user, created = User.objects.get_or_create(
            username=synthetic_username(account=account, number=number), defaults={"is_active": False}
        )
        if created or user.has_usable_password() or user.is_active:
            user.set_unusable_password()
            user.is_active = False
            user.save(update_fields=["password", "is_active"])
        users.append(user)
    return users


def synthetic_traffic_rehome(*, account: Account, now: datetime | None = None) -> int:
    """Fix traffic generated before it had synthetic users, idempotently: conversations made of
    synthetic replies only that a real user owns move to the synthetic users, and no synthetic row
    stays dated after ``now``. Returns how many conversations moved."""
    now = now or timezone.now()
    synthetic_users = [user.pk for user in synthetic_users_ensure(account=account)]
    real_replies = (
        Message.objects.filter(conversation__account=account, role=Message.Role.ASSISTANT)
        .exclude(content=SYNTHETIC_REPLY)
        .exclude(status=Message.Status.FAILED, content="", error=SYNTHETIC_ERROR)
        .values("conversation_id")
    )
    synthetic = (
        Conversation.objects.filter(account=account, messages__role=Message.Role.ASSISTANT)
        .exclude(pk__in=real_replies)
        .distinct()
    )
    moved = list(synthetic.exclude(user_id__in=synthetic_users).values_list("pk", flat=True))
    with transaction.atomic():
        for index, pk in enumerate(moved):
            Conversation.objects.filter(pk=pk).update(user_id=synthetic_users[index % len(synthetic_users)])
        mine = Conversation.objects.filter(account=account, user_id__in=synthetic_users)
        mine.filter(updated_at__gt=now).update(updated_at=now)
        mine.filter(created_at__gt=now).update(created_at=now)
        Message.objects.filter(conversation__in=mine, created_at__gt=now).update(created_at=now)
        Message.objects.filter(conversation__in=mine, updated_at__gt=now).update(updated_at=now)
        Message.objects.filter(conversation__in=mine, completed_at__gt=now).update(completed_at=now)
    return len(moved)


def _shift_back(rows: list[dict], overflow: timedelta) -> None:
    for row in rows:
        for key, value in row.items():
            if isinstance(value, datetime):
                row[key] = value - overflow


def _traits(account: Account, rng: random.Random) -> tuple[AgentInstance, list[_AgentTraits]]:
    agents = list(
        AgentInstance.objects.filter(account=account, status=AgentInstance.Status.ACTIVE)
        .prefetch_related("handoff_targets")
        .order_by("slug")
    )
    default = next((a for a in agents if a.is_default), None) or (agents[0] if agents else None)
    others = [a for a in agents if a != default]
    specialists = [a for a in others if a.routing_examples] or others
    if default is None or len(specialists) < 2:
        raise ValueError(
            f"Account '{account.slug}' needs a default agent and at least two other active agents "
            "(seed_demo installs six)."
        )
    ids = {a.pk for a in specialists}
    traits = []
    for index, agent in enumerate(specialists):
        targets = [t.pk for t in agent.handoff_targets.all() if t.pk in ids] or [
            a.pk for a in specialists if a != agent
        ]
        traits.append(
            _AgentTraits(
                agent=agent,
                model=agent.model or SYNTHETIC_MODELS[index % len(SYNTHETIC_MODELS)],
                misroute=rng.uniform(0.03, 0.16),
                error_rate=rng.uniform(0.01, 0.05),
                latency_median_ms=rng.uniform(900, 3200),
                targets=targets,
            )
        )
    return default, traits


def _cost(model: str, prompt: int, completion: int) -> Decimal:
    if model.startswith(("offline/", "scripted/")):
        return Decimal("0")  # in-process models cost nothing
    price_in, price_out = PRICE_PER_1K_TOKENS.get(model, (0.001, 0.002))
    return Decimal(f"{(prompt * price_in + completion * price_out) / 1000:.6f}")


def _moment(rng: random.Random, now: datetime, days: float) -> datetime:
    # More traffic in working hours: draw twice and keep the later hour-of-day weight.
    while True:
        at = now - timedelta(seconds=rng.uniform(0, days * 86400))
        hour = at.hour
        weight = 1.0 if 8 <= hour < 18 else 0.35
        if rng.random() < weight:
            return at


def _poisson(rng: random.Random, mean: float) -> int:
    # Knuth; means here are small.
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def traffic_generate(
    *,
    account: Account,
    profile: TrafficProfile,
    now: datetime | None = None,
    chunk: int = 2000,
    progress: Callable[[GeneratedCounts], None] | None = None,
) -> GeneratedCounts:
    """Write ``profile.conversations`` synthetic conversations for ``account``, spread over the last
    ``profile.days`` days; returns how many rows of each kind were written."""
    now = now or timezone.now()
    rng = random.Random(profile.seed)
    default, traits = _traits(account, rng)
    by_pk = {t.agent.pk: t for t in traits}
    default_traits = _AgentTraits(default, default.model or settings.LLM_MODEL, 0.0, 0.02, 1400.0)
    # Synthetic conversations belong to synthetic users, never to a person: a real user's history
    # holds only what they wrote.
    users = [user.pk for user in synthetic_users_ensure(account=account)]
    counts = GeneratedCounts()
    done = 0
    while done < profile.conversations:
        size = min(chunk, profile.conversations - done)
        with transaction.atomic():
            _write_chunk(account, profile, rng, now, size, users, traits, by_pk, default_traits, counts)
        done += size
        if progress:
            progress(counts)
    # The pages read aggregates: bring them up to date for the span just written.
    rollups_rebuild(account=account, since=now - timedelta(days=profile.days), now=now)
    TrafficBatch.objects.create(
        account=account, conversations=counts.conversations, messages=counts.messages,
        handoffs=counts.handoffs, days=profile.days,
    )  # fmt: skip
    return counts


def _write_chunk(account, profile, rng, now, size, users, traits, by_pk, default_traits, counts) -> None:
    plans = []
    for _ in range(size):
        legacy = rng.random() < profile.legacy_share
        turns = 1 + _poisson(rng, max(profile.turns_mean - 1, 0))
        plans.append((legacy, turns))
    n_turns = sum(t for _, t in plans)
    conv_base = _Ids(Conversation).reserve(size)
    msg_base = _Ids(Message).reserve(2 * n_turns)
    turn_base = _Ids(Turn).reserve(n_turns)
    conversations, messages, turn_rows, handoffs, events, tool_calls, approvals = [], [], [], [], [], [], []
    candidates: list[tuple[int, int, datetime, str, str]] = []
    msg_id, turn_id = msg_base, turn_base
    for index, (legacy, n) in enumerate(plans):
        conv_id = conv_base + index
        started = _moment(rng, now, profile.days)
        user = rng.choice(users)
        current = default_traits if legacy else rng.choice(traits)
        handoff_turns: dict[int, int] = {}
        if not legacy and n > 1 and rng.random() < profile.handoff_share:
            for _ in range(max(1, _poisson(rng, profile.handoffs_mean))):
                later = rng.randrange(1, n)
                handoff_turns[later] = handoff_turns.get(later, 0) + 1
        at = started
        marks = (len(messages), len(turn_rows), len(handoffs), len(events), len(tool_calls), len(candidates))
        for turn_index in range(n):
            question_id, reply_id, this_turn = msg_id, msg_id + 1, turn_id
            msg_id, turn_id = msg_id + 2, turn_id + 1
            question = rng.choice(TOPICS)
            messages.append(
                {"id": question_id, "conversation_id": conv_id, "role": Message.Role.USER,
                 "content": question, "status": Message.Status.COMPLETE, "created_at": at,
                 "updated_at": at, "completed_at": at}
            )  # fmt: skip
            # Hand-offs in this turn: a first-turn misroute, or the planned later ones.
            moves = 0
            if turn_index == 0 and not legacy and rng.random() < current.misroute:
                moves = 1
            moves += handoff_turns.get(turn_index, 0)
            for _ in range(moves):
                target = by_pk[rng.choice(current.targets)]
                via = "tool" if turn_index == 0 or rng.random() < 0.6 else "router"
                handoffs.append(
                    {"conversation_id": conv_id, "turn_id": this_turn, "from_agent_id": current.agent.pk,
                     "to_agent_id": target.agent.pk, "via": via,
                     "created_at": at + timedelta(milliseconds=400),
                     "reason": f"{target.agent.name} handles this better"}
                )  # fmt: skip
                current = target
            if not legacy and moves >= 2 and rng.random() < 0.3:
                events.append(
                    {"conversation_id": conv_id, "turn_id": this_turn, "agent_id": current.agent.pk,
                     "kind": rng.choice([GuardrailEvent.Kind.PING_PONG, GuardrailEvent.Kind.REPEATED_EDGE]),
                     "detail": "hand-off loop stopped", "created_at": at + timedelta(seconds=1)}
                )  # fmt: skip
            latency = int(rng.lognormvariate(math.log(current.latency_median_ms), 0.45)) + 300 * moves
            error_rate = current.error_rate * (1.0 if legacy else profile.multi_error_factor)
            failed = rng.random() < error_rate
            status = Message.Status.FAILED if failed else Message.Status.COMPLETE
            if not failed and rng.random() < 0.004:
                status = Message.Status.CANCELLED
            if status == Message.Status.COMPLETE and rng.random() < 0.003:
                events.append(
                    {"conversation_id": conv_id, "turn_id": this_turn, "agent_id": current.agent.pk,
                     "kind": GuardrailEvent.Kind.STEP_LIMIT,
                     "detail": f"{current.agent.slug} reached its step limit",
                     "created_at": at + timedelta(milliseconds=latency)}
                )  # fmt: skip
            prompt = int(rng.gauss(900, 250)) + 150 * turn_index
            completion = max(20, int(rng.gauss(220, 80)))
            feedback = ""
            roll = rng.random()
            if status == Message.Status.COMPLETE:
                feedback = "up" if roll < 0.16 else ("down" if roll < 0.2 else "")
            elif status == Message.Status.FAILED:
                feedback = "down" if roll < 0.3 else ""
            done_at = at + timedelta(milliseconds=latency)
            messages.append(
                {"id": reply_id, "conversation_id": conv_id, "role": Message.Role.ASSISTANT,
                 "content": "" if failed else SYNTHETIC_REPLY, "status": status,
                 "error": SYNTHETIC_ERROR if failed else "",
                 "agent_id": current.agent.pk, "model": current.model, "reply_to_id": question_id,
                 "prompt_tokens": max(50, prompt), "completion_tokens": 0 if failed else completion,
                 "cost_usd": _cost(current.model, max(50, prompt), 0 if failed else completion),
                 "first_token_ms": None if failed else int(latency * rng.uniform(0.15, 0.35)),
                 "latency_ms": latency, "feedback": feedback, "feedback_at": done_at if feedback else None,
                 "attempts": 1, "created_at": at, "updated_at": done_at, "completed_at": done_at}
            )  # fmt: skip
            if status == Message.Status.FAILED or feedback == "down" or rng.random() < 0.01:
                trigger = (
                    "cannot_resolve" if status == Message.Status.FAILED
                    else ("thumbs_down" if feedback == "down" else "asked_for_person")
                )  # fmt: skip
                if rng.random() < 0.5:
                    candidates.append((conv_id, reply_id, done_at, trigger, question))
            turn_rows.append(
                {"id": this_turn, "reply_id": reply_id, "conversation_id": conv_id, "state": {},
                 "created_at": at, "updated_at": done_at}
            )  # fmt: skip
            if not legacy and rng.random() < 0.05:
                tool = rng.choice(TOOLS)
                gated = tool in GATED_TOOLS
                decision = rng.choices(["approved", "denied"], [0.8, 0.2])[0] if gated else ""
                call_status = (
                    ToolCall.Status.DENIED if decision == "denied"
                    else (ToolCall.Status.FAILED if rng.random() < 0.04 else ToolCall.Status.COMPLETED)
                )  # fmt: skip
                tool_calls.append(
                    {"conversation_id": conv_id, "turn_id": this_turn, "agent_id": current.agent.pk,
                     "tool_slug": tool, "arguments": {}, "status": call_status,
                     "idempotency_key": f"synthetic:turn{this_turn}:call0", "created_at": at,
                     "finished_at": done_at, "_approval": decision}
                )  # fmt: skip
            last = done_at
            at = done_at + timedelta(seconds=rng.uniform(20, 600))
        # A conversation started near ``now`` would end after it: move it back, whole, so that no
        # row is dated in the future (it would sort above the conversation a person just started).
        tables = (messages, turn_rows, handoffs, events, tool_calls)
        written = [rows[mark:] for rows, mark in zip(tables, marks, strict=False)]
        latest = max(v for rows in written for row in rows for v in row.values() if isinstance(v, datetime))
        overflow = max(latest, last) - now
        if overflow > timedelta(0):
            started -= overflow
            at = last - overflow
            for rows in written:
                _shift_back(rows, overflow)
            candidates[marks[5] :] = [
                (conv, reply, when - overflow, trigger, question)
                for conv, reply, when, trigger, question in candidates[marks[5] :]
            ]
        else:
            at = last
        conversations.append(
            {"id": conv_id, "account_id": account.pk, "user_id": user, "title": rng.choice(TOPICS),
             "agent_id": current.agent.pk, "routed": not legacy,
             "arm": Conversation.Arm.LEGACY if legacy else Conversation.Arm.MULTI_AGENT,
             "created_at": started, "updated_at": at}
        )  # fmt: skip
    _write(Conversation, conversations)
    _write(Message, messages)
    _write(Turn, turn_rows)
    _write(Handoff, handoffs)
    _write(GuardrailEvent, events)
    if tool_calls:
        call_base = _Ids(ToolCall).reserve(len(tool_calls))
        for offset, call in enumerate(tool_calls):
            call["id"] = call_base + offset
            decision = call.pop("_approval")
            if decision:
                approvals.append(
                    # _write evaluates a field's default once per batch: each id is drawn here.
                    {"tool_call_id": call["id"], "conversation_id": call["conversation_id"],
                     "public_id": uuid.uuid4(), "decision": decision,
                     "decided_at": call["finished_at"], "created_at": call["created_at"]}
                )  # fmt: skip
        _write(ToolCall, tool_calls)
        _write(Approval, approvals)
    counts.conversations += len(conversations)
    counts.messages += len(messages)
    counts.turns += len(turn_rows)
    counts.handoffs += len(handoffs)
    counts.guardrail_events += len(events)
    counts.tool_calls += len(tool_calls)
    counts.approvals += len(approvals)
    counts.escalations += _write_escalations(account, rng, now, candidates)


def _write_escalations(account: Account, rng: random.Random, now: datetime, candidates: list) -> int:
    """Escalations of failed or disliked replies, climbing the ladder: most settle on the way, the
    rest reach a person, who mostly answers within the SLA (30 min first response, 8 h resolution)."""
    if not candidates:
        return 0

    # Claimed escalations belong to someone: the account's operators take them in turn.
    operators = list(
        Membership.objects.filter(account=account, role__in=[Membership.Role.OPERATOR, Membership.Role.ADMIN])
        .order_by("pk")
        .values_list("user_id", flat=True)
    )
    base = _Ids(Escalation).reserve(len(candidates))
    settle = {"quick_fix": 0.3, "research": 0.35, "consultation": 0.3}
    escalations, runs = [], []
    for offset, (conv_id, reply_id, at, trigger, question) in enumerate(candidates):
        escalation_id = base + offset
        # The ladder takes up to six minutes here; one that would still be climbing after ``now``
        # starts earlier, so no phase is dated in the future.
        at = min(at, now - timedelta(minutes=6))
        row = {
            "id": escalation_id, "account_id": account.pk, "conversation_id": conv_id, "message_id": reply_id,
            "trigger": trigger, "reason": "Synthetic escalation.", "question": question,
            "created_at": at, "updated_at": at, "priority": 2,
        }  # fmt: skip
        clock = at
        for phase in LADDER:
            duration = timedelta(seconds=rng.uniform(2, 90))
            run = {"escalation_id": escalation_id, "phase": phase, "started_at": clock,
                   "finished_at": clock + duration,
                   "duration_ms": int(duration.total_seconds() * 1000)}  # fmt: skip
            clock += duration
            if phase != "human" and rng.random() < settle[phase]:
                runs.append(run | {"outcome": PhaseRun.Outcome.RESOLVED})
                row |= {
                    "status": "resolved",
                    "phase": phase,
                    "resolved_by_phase": phase,
                    "resolved_at": clock,
                }
                break
            if phase != "human":
                runs.append(run | {"outcome": PhaseRun.Outcome.FELL_THROUGH})
                continue
            runs.append(run | {"outcome": PhaseRun.Outcome.QUEUED, "finished_at": clock, "duration_ms": 0})
            responded = clock + timedelta(minutes=rng.lognormvariate(math.log(14), 0.7))
            resolved = responded + timedelta(minutes=rng.lognormvariate(math.log(90), 0.9))
            answered = responded < now and bool(operators)
            row |= {
                "phase": phase, "queued_at": clock, "first_response_due_at": clock + timedelta(minutes=30),
                "resolution_due_at": clock + timedelta(minutes=480),
                "first_response_at": responded if answered else None,
                "claimed_at": responded if answered else None,
                "assignee_id": rng.choice(operators) if answered else None,
            }  # fmt: skip
            if answered and resolved < now and rng.random() < 0.9:
                row |= {"status": "resolved", "resolved_by_phase": phase, "resolved_at": resolved}
            else:
                row["status"] = "claimed" if row["assignee_id"] else "open"
        escalations.append(row)
    _write(Escalation, escalations)
    _write(PhaseRun, runs)
    return len(escalations)
