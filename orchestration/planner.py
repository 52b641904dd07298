"""The run planner: which agent does a task, and what a run should take in time and money,
from the capabilities the account's agents declare."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings

from accounts.models import Account
from agents.models import AgentInstance
from orchestration.models import AgentCapability, WorkflowRun


@dataclass(frozen=True)
class TaskPlan:
    agent: AgentInstance | None
    error: str  # why there is no agent, for the task's error
    estimated_seconds: float
    estimated_cost_usd: Decimal


def not_available(slug: str) -> str:
    return f"agent {slug} is not available in this account"


def capability_best(*, account: Account, name: str) -> AgentCapability | None:
    """The preferred active agent's declaration of ``name``: lowest priority number first,
    then the cheaper, then the faster."""
    return (
        AgentCapability.objects.filter(
            agent__account=account, agent__status=AgentInstance.Status.ACTIVE, name=name
        )
        .select_related("agent")
        .order_by("priority", "cost_estimate_usd", "estimated_seconds", "agent__slug")
        .first()
    )


def _agent_capability(agent: AgentInstance, name: str) -> AgentCapability | None:
    capabilities = AgentCapability.objects.filter(agent=agent)
    if name:
        return capabilities.filter(name=name).first()
    return capabilities.order_by("priority", "estimated_seconds").first()


def plan_task(
    *, account: Account, agent_slug: str, capability: str, agents: dict[str, AgentInstance]
) -> TaskPlan:
    default_seconds = settings.ORCHESTRATION_DEFAULT_TASK_SECONDS
    if agent_slug:
        agent = agents.get(agent_slug)
        if agent is None or agent.status != AgentInstance.Status.ACTIVE:
            return TaskPlan(None, not_available(agent_slug), 0.0, Decimal("0"))
        declared = _agent_capability(agent, capability)
    else:
        declared = capability_best(account=account, name=capability)
        if declared is None:
            return TaskPlan(
                None, f"no available agent in this account has the capability {capability}", 0.0, Decimal("0")
            )
        agent = declared.agent
    if declared is None:
        return TaskPlan(agent, "", default_seconds, Decimal("0"))
    return TaskPlan(agent, "", declared.estimated_seconds, declared.cost_estimate_usd)


def run_estimate(
    *, mode: str, strategy: str, tasks: list[TaskPlan], aggregator: AgentInstance | None
) -> tuple[float, Decimal]:
    """(seconds, cost) before the run starts: a sequence takes the sum of its tasks, a
    parallel batch its slowest task, and a merge or a consensus judge adds its model call."""
    seconds = [t.estimated_seconds for t in tasks if t.agent is not None]
    cost = sum((t.estimated_cost_usd for t in tasks if t.agent is not None), Decimal("0"))
    total = sum(seconds) if mode == WorkflowRun.Mode.SEQUENTIAL else max(seconds, default=0.0)
    merging = mode == WorkflowRun.Mode.HIERARCHICAL and strategy == WorkflowRun.Strategy.MERGE
    if (merging or mode == WorkflowRun.Mode.CONSENSUS) and aggregator:
        merge = _agent_capability(aggregator, "merge" if merging else "judge")
        total += merge.estimated_seconds if merge else settings.ORCHESTRATION_DEFAULT_TASK_SECONDS
        cost += merge.cost_estimate_usd if merge else Decimal("0")
    return total, cost
