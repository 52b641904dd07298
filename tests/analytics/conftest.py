"""A small hand-built dataset whose every figure is worked out by hand in the tests.

NOW is fixed; the window under test is the 7 days before it, [NOW - 7d, NOW). Agents: the default
``assistant`` (legacy arm) and ``alpha``, ``beta``, ``gamma`` (multi-agent). Conversations:

C1 multi  NOW-1d  t1: alpha hands off to beta (tool), beta answers 1000 ms, up;  t2: beta 3000 ms
C2 multi  NOW-2d  t1: alpha 2000 ms, down; a gated tool call there is denied
C3 multi  NOW-3d  t1: beta fails 500 ms;   t2: router hands beta -> gamma, gamma 4000 ms
C4 legacy NOW-2d  t1: assistant 1500 ms, up;  t2: assistant fails 100 ms
C5 legacy NOW-4d  t1: assistant 2500 ms, up
C6 multi  NOW-8d  (before the window) alpha -> gamma, a ping-pong stop
C7 multi  NOW-7d  exactly (the first instant of the window): gamma 1000 ms
C8 multi  NOW     exactly (the first instant after it): gamma -> alpha
Guard rails in the window: C1 ping-pong, C3 step limit, C3 tool refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from accounts.models import Account, Membership
from agents.models import AgentInstance, AgentTemplate, RoutingEvaluation
from analytics.rollups import rollups_rebuild
from analytics.windows import Window
from conversations.models import Approval, Conversation, GuardrailEvent, Handoff, Message, ToolCall, Turn

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
WINDOW = Window(start=NOW - timedelta(days=7), end=NOW, preset="7d")


@dataclass
class Dataset:
    account: Account
    agents: dict[str, AgentInstance]
    conversations: dict[str, Conversation]


def _agent(account: Account, slug: str, model: str) -> AgentInstance:
    template, _ = AgentTemplate.objects.get_or_create(
        slug="specialist", version="1", defaults={"name": "Specialist"}
    )
    return AgentInstance.objects.create(
        account=account, template=template, slug=slug, name=slug.title(), model=model, routing_examples=["x"]
    )


class Builder:
    def __init__(self, account: Account, user) -> None:
        self.account, self.user = account, user

    def conversation(
        self, *, arm: str, at: datetime, title: str, purpose: str = Conversation.Purpose.CHAT
    ) -> Conversation:
        conversation = Conversation.objects.create(
            account=self.account,
            user=self.user,
            title=title,
            arm=arm,
            routed=arm == Conversation.Arm.MULTI_AGENT,
            purpose=purpose,
        )
        Conversation.objects.filter(pk=conversation.pk).update(created_at=at)
        conversation.created_at = at
        return conversation

    def turn(
        self, conversation: Conversation, *, at: datetime, agent: AgentInstance, status: str = "complete",
        latency: int, first_token: int | None = None, prompt: int = 0, completion: int = 0, cost: str = "0",
        feedback: str = "", handoffs: tuple = (),
    ) -> Turn:  # fmt: skip
        question = Message.objects.create(conversation=conversation, role="user", content="q")
        reply = Message.objects.create(
            conversation=conversation, role="assistant", status=status, agent=agent, model=agent.model,
            reply_to=question, latency_ms=latency, first_token_ms=first_token, prompt_tokens=prompt,
            completion_tokens=completion, cost_usd=Decimal(cost), feedback=feedback,
        )  # fmt: skip
        Message.objects.filter(pk__in=[question.pk, reply.pk]).update(created_at=at)
        turn = Turn.objects.create(reply=reply, conversation=conversation)
        for source, target, via in handoffs:
            handoff = Handoff.objects.create(
                conversation=conversation, turn=turn, from_agent=source, to_agent=target, reason="r", via=via
            )
            Handoff.objects.filter(pk=handoff.pk).update(created_at=at)
        return turn

    def guard(self, turn: Turn, kind: str, at: datetime) -> None:
        event = GuardrailEvent.objects.create(
            conversation=turn.conversation, turn=turn, kind=kind, detail="d"
        )
        GuardrailEvent.objects.filter(pk=event.pk).update(created_at=at)


def build_dataset(account: Account, user) -> Dataset:
    assistant = AgentInstance.objects.get(account=account, slug="assistant")
    AgentInstance.objects.filter(pk=assistant.pk).update(model="m-fast")
    assistant.model = "m-fast"
    alpha, beta, gamma = (
        _agent(account, "alpha", "m-fast"),
        _agent(account, "beta", "m-big"),
        _agent(account, "gamma", "m-big"),
    )
    b = Builder(account, user)
    day = timedelta(days=1)
    minute = timedelta(minutes=1)
    multi, legacy = Conversation.Arm.MULTI_AGENT, Conversation.Arm.LEGACY

    c1 = b.conversation(arm=multi, at=NOW - day, title="C1")
    t = b.turn(c1, at=NOW - day, agent=beta, latency=1000, first_token=200, prompt=100, completion=50,
               cost="0.010", feedback="up", handoffs=[(alpha, beta, "tool")])  # fmt: skip
    b.guard(t, GuardrailEvent.Kind.PING_PONG, NOW - day)
    b.turn(c1, at=NOW - day + minute, agent=beta, latency=3000, first_token=400, prompt=200, completion=100,
           cost="0.020")  # fmt: skip

    c2 = b.conversation(arm=multi, at=NOW - 2 * day, title="C2")
    t = b.turn(c2, at=NOW - 2 * day, agent=alpha, latency=2000, first_token=300, prompt=100, completion=50,
               cost="0.010", feedback="down")  # fmt: skip
    call = ToolCall.objects.create(
        conversation=c2,
        turn=t,
        agent=alpha,
        tool_slug="ticket_create",
        idempotency_key=f"c2-{account.slug}",
        status="denied",
    )
    Approval.objects.create(tool_call=call, conversation=c2, decision="denied", decided_at=NOW - 2 * day)

    c3 = b.conversation(arm=multi, at=NOW - 3 * day, title="C3")
    t = b.turn(c3, at=NOW - 3 * day, agent=beta, status="failed", latency=500, prompt=100, cost="0.001")
    t = b.turn(c3, at=NOW - 3 * day + minute, agent=gamma, latency=4000, first_token=500, prompt=300,
               completion=100, cost="0.030", handoffs=[(beta, gamma, "router")])  # fmt: skip
    b.guard(t, GuardrailEvent.Kind.STEP_LIMIT, NOW - 3 * day + minute)
    b.guard(t, GuardrailEvent.Kind.TOOL_REFUSED, NOW - 3 * day + minute)

    c4 = b.conversation(arm=legacy, at=NOW - 2 * day, title="C4")
    b.turn(c4, at=NOW - 2 * day, agent=assistant, latency=1500, first_token=250, prompt=80, completion=40,
           cost="0.005", feedback="up")  # fmt: skip
    b.turn(c4, at=NOW - 2 * day + minute, agent=assistant, status="failed", latency=100, prompt=80, cost="0")

    c5 = b.conversation(arm=legacy, at=NOW - 4 * day, title="C5")
    b.turn(c5, at=NOW - 4 * day, agent=assistant, latency=2500, first_token=300, prompt=90, completion=60,
           cost="0.007", feedback="up")  # fmt: skip

    c6 = b.conversation(arm=multi, at=NOW - 8 * day, title="C6")
    t = b.turn(c6, at=NOW - 8 * day, agent=gamma, latency=9000, first_token=900, prompt=999, completion=999,
               cost="9", handoffs=[(alpha, gamma, "tool")])  # fmt: skip
    b.guard(t, GuardrailEvent.Kind.PING_PONG, NOW - 8 * day)

    c7 = b.conversation(arm=multi, at=NOW - 7 * day, title="C7")
    b.turn(c7, at=NOW - 7 * day, agent=gamma, latency=1000, first_token=100, prompt=50, completion=50,
           cost="0.002")  # fmt: skip

    c8 = b.conversation(arm=multi, at=NOW, title="C8")
    b.turn(c8, at=NOW, agent=alpha, latency=7000, first_token=700, prompt=700, completion=700, cost="7",
           handoffs=[(gamma, alpha, "tool")])  # fmt: skip

    for accuracy, at in ((0.8, NOW - 10 * day), (0.92, NOW - 3 * day)):
        evaluation = RoutingEvaluation.objects.create(
            account=account,
            dataset="labelled.jsonl",
            total=100,
            correct=round(accuracy * 100),
            accuracy=accuracy,
        )
        RoutingEvaluation.objects.filter(pk=evaluation.pk).update(created_at=at)
    rollups_rebuild(account=account, now=NOW + timedelta(days=1))
    return Dataset(
        account=account,
        agents={"assistant": assistant, "alpha": alpha, "beta": beta, "gamma": gamma},
        conversations={name: c for name, c in zip(["C1", "C2", "C3", "C4", "C5", "C6", "C7", "C8"],
                                                  [c1, c2, c3, c4, c5, c6, c7, c8], strict=True)},
    )  # fmt: skip


@pytest.fixture
def dataset(account, member) -> Dataset:
    return build_dataset(account, member)


@pytest.fixture
def noise(other_account, outsider) -> Dataset:
    """Another account's traffic in the same window: none of it may show in acme's figures."""
    return build_dataset(other_account, outsider)


@pytest.fixture
def operator(make_user, account):
    return make_user(account, role=Membership.Role.OPERATOR, username="olga")


@pytest.fixture
def admin(make_user, account):
    user = make_user(account, role=Membership.Role.ADMIN, username="ada")
    user.email = "ada@acme.example"
    user.save()
    return user


@pytest.fixture
def operator_client(client, operator):
    client.force_login(operator)
    return client
