"""Capabilities: the planner picks the agent and estimates a run before it starts."""

from __future__ import annotations

from decimal import Decimal

import pytest

from orchestration.models import AgentCapability
from orchestration.services import run_create, run_start

pytestmark = pytest.mark.django_db


@pytest.fixture
def capabilities(trio, make_agent, account):
    alpha, beta, gamma = trio
    delta = make_agent(account, "delta", status="suspended")
    rows = [
        (alpha, "vendor_research", 30, "0.0300", 50),
        (beta, "vendor_research", 20, "0.0200", 10),  # preferred: lowest priority number
        (delta, "vendor_research", 5, "0.0010", 1),  # best on paper, but suspended
        (gamma, "plan", 40, "0.0500", 10),
    ]
    for agent, name, seconds, cost, priority in rows:
        AgentCapability.objects.create(
            agent=agent,
            name=name,
            estimated_seconds=seconds,
            cost_estimate_usd=Decimal(cost),
            priority=priority,
        )


def test_a_capability_goes_to_the_preferred_active_agent(account, capabilities):
    run = run_create(
        account=account, mode="parallel", tasks=[{"capability": "vendor_research", "input": "Acme"}]
    )
    task = run.tasks.get()
    assert task.agent.slug == "beta"
    assert (task.capability, task.status) == ("vendor_research", "pending")


def test_an_unknown_capability_fails_its_task(account, capabilities):
    run = run_create(account=account, mode="parallel", tasks=[{"capability": "juggling", "input": "x"}])
    task = run.tasks.get()
    assert task.status == "failed"
    assert task.error == "no available agent in this account has the capability juggling"


def test_capabilities_of_another_account_are_never_used(account, other_account, make_agent, capabilities):
    foreign = make_agent(other_account, "outsider")
    AgentCapability.objects.create(agent=foreign, name="translation", estimated_seconds=1)
    run = run_create(account=account, mode="parallel", tasks=[{"capability": "translation", "input": "x"}])
    assert run.tasks.get().status == "failed"


@pytest.mark.parametrize(
    ("mode", "seconds", "cost"),
    [
        ("sequential", 60.0, Decimal("0.0700")),  # research 20 s, then plan 40 s
        ("parallel", 40.0, Decimal("0.0700")),  # the slowest of the two
        ("hierarchical", 40.0, Decimal("0.0700")),  # concatenation adds nothing
    ],
)
def test_the_run_is_estimated_before_it_starts(account, capabilities, mode, seconds, cost):
    run = run_create(
        account=account,
        mode=mode,
        tasks=[
            {"capability": "vendor_research", "input": "Acme"},
            {"capability": "plan", "input": "then plan"},
        ],
    )
    assert run.estimated_seconds == seconds
    assert run.estimated_cost_usd == cost
    assert [t.estimated_seconds for t in run.tasks.order_by("position")] == [20, 40]


def test_a_merge_adds_the_aggregators_estimate(account, capabilities, trio, settings):
    AgentCapability.objects.create(
        agent=trio[0], name="merge", estimated_seconds=7, cost_estimate_usd=Decimal("0.01")
    )
    run = run_create(
        account=account,
        mode="hierarchical",
        strategy="merge",
        aggregator="alpha",
        tasks=[{"capability": "vendor_research", "input": "Acme"}, {"capability": "plan", "input": "x"}],
    )
    assert run.estimated_seconds == 47
    assert run.estimated_cost_usd == Decimal("0.0800")


@pytest.mark.django_db(transaction=True)
def test_a_capability_task_is_answered_by_the_chosen_agent(account, capabilities, eager_celery):
    run = run_start(
        account=account,
        mode="parallel",
        request="@alpha: say from alpha\n@beta: say from beta",
        tasks=[{"capability": "vendor_research", "input": "Acme"}],
    )
    task = run.tasks.get()
    assert (task.status, task.result) == ("completed", "from beta")


def test_the_demo_agents_have_capabilities(db):
    from demo.seed import demo_seed

    account = demo_seed().account
    names = set(AgentCapability.objects.filter(agent__account=account).values_list("agent__slug", flat=True))
    assert names == {"consultant", "solution_architect", "implementation", "support", "sales", "research"}
    demo_seed()  # idempotent
    run = run_create(
        account=account, mode="parallel", tasks=[{"capability": "vendor_research", "input": "Acme"}]
    )
    assert run.tasks.get().agent.slug == "research"
