"""The run planner: which agent does a task, and what a run should take in time and money:
from what each agent's recent finished tasks took (the median), and from what its capability
declares only while it has no history."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings

from accounts.models import Account
from agents.models import AgentInstance
from agents.selectors import agent_default_for_account
from orchestration.models import AgentCapability, RunStatus, TaskRun, WorkflowRun

HISTORY_TASKS = 20  # the recent completed tasks per agent the median is taken over


@dataclass(frozen=True)
class AgentHistory:
    """The median time and cost of an agent's recent completed tasks."""

    seconds: float
    cost_usd: Decimal
    samples: int


@dataclass(frozen=True)
class TaskPlan:
    agent: AgentInstance | None
    error: str  # why there is no agent, for the task's error
    estimated_seconds: float
    estimated_cost_usd: Decimal
    source: str = "declared"  # "history" (recent tasks), "declared" (the capability) or "default"


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


def agent_history(*, agent_ids: list[int]) -> dict[int, AgentHistory]:
    """Per agent, the p50 duration and cost of its last HISTORY_TASKS completed tasks.
    A declared estimate is a guess made once; what the agent took lately is measured
    (the static numbers were off 10-100 times against the offline model)."""
    history: dict[int, AgentHistory] = {}
    for agent_id in set(agent_ids):
        rows = list(
            TaskRun.objects.filter(
                agent_id=agent_id,
                status=RunStatus.COMPLETED,
                started_at__isnull=False,
                finished_at__isnull=False,
            )
            .order_by("-finished_at", "-id")
            .values_list("started_at", "finished_at", "cost_usd")[:HISTORY_TASKS]
        )
        if rows:
            history[agent_id] = AgentHistory(
                seconds=statistics.median((end - start).total_seconds() for start, end, _ in rows),
                cost_usd=Decimal(statistics.median(cost for _, _, cost in rows)),
                samples=len(rows),
            )
    return history


def plan_task(
    *,
    account: Account,
    agent_slug: str,
    capability: str,
    agents: dict[str, AgentInstance],
    history: dict[int, AgentHistory] | None = None,
) -> TaskPlan:
    """The agent for a task and its estimate. ``history`` (from ``agent_history``) is looked
    up for the chosen agent; with none given, the agent's history is read here."""
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
    if history is None:
        history = agent_history(agent_ids=[agent.pk])
    measured = history.get(agent.pk)
    if measured is not None:
        return TaskPlan(agent, "", measured.seconds, measured.cost_usd, "history")
    if declared is None:
        return TaskPlan(agent, "", default_seconds, Decimal("0"), "default")
    return TaskPlan(agent, "", declared.estimated_seconds, declared.cost_estimate_usd, "declared")


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


@dataclass(frozen=True)
class RunPreview:
    """What the run form shows before the run starts."""

    seconds: float
    cost_usd: Decimal
    tasks: list[tuple[str, TaskPlan]]  # (what the row asked for, its plan)
    aggregator: AgentInstance | None


def run_preview(
    *,
    account: Account,
    mode: str,
    tasks: list[dict],
    strategy: str = "",
    aggregator: str = "",
    judge: str = "",
) -> RunPreview:
    """The estimate of a run as specified so far (the form's rows: ``agent`` or
    ``capability`` each), computed as ``run_create`` will: rows naming nobody are left out,
    and an unavailable agent is listed with its error and adds nothing."""
    agents = {a.slug: a for a in AgentInstance.objects.filter(account=account)}
    history = agent_history(agent_ids=[a.pk for a in agents.values()])
    planned = []
    for task in tasks:
        slug, capability = task.get("agent") or "", task.get("capability") or ""
        if not slug and not capability:
            continue
        plan = plan_task(
            account=account, agent_slug=slug, capability=capability, agents=agents, history=history
        )
        planned.append((slug or capability, plan))
    merger = None
    if mode == WorkflowRun.Mode.HIERARCHICAL and strategy == WorkflowRun.Strategy.MERGE:
        merger = agents.get(aggregator) if aggregator else agent_default_for_account(account=account)
    elif mode == WorkflowRun.Mode.CONSENSUS and judge:
        merger = agents.get(judge)
    if merger is not None and merger.status != AgentInstance.Status.ACTIVE:
        merger = None
    seconds, cost = run_estimate(
        mode=mode, strategy=strategy, tasks=[plan for _, plan in planned], aggregator=merger
    )
    return RunPreview(seconds=seconds, cost_usd=cost, tasks=planned, aggregator=merger)
