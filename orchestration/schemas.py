from __future__ import annotations

from datetime import datetime

from ninja import Field, Schema


class TaskIn(Schema):
    agent: str | None = Field(None, description="Slug of the agent that does the task.")
    capability: str | None = Field(None, description="Or a capability: the planner picks the agent.")
    description: str = Field("", description="What the task is.")
    input: str = Field("", description="The text the agent works on.")
    timeout_seconds: float | None = Field(None, description="Per-attempt time limit (default 120 s).")
    max_attempts: int | None = Field(None, description="Attempts before the task fails (default 3).")


class RunIn(Schema):
    mode: str = Field(..., description="sequential, parallel, hierarchical or consensus.")
    tasks: list[TaskIn]
    request: str = Field("", description="The overall request; every task sees it as context.")
    strategy: str = Field("", description="Hierarchical aggregation: concat (default), vote or merge.")
    min_agreement: float = Field(0.5, description="Consensus: the share of agents that must agree (0 to 1).")
    strict: bool = Field(True, description="Sequential: stop at the first failure.")
    aggregator: str = Field("", description="Merge: the agent that merges (default: the account's default).")
    judge: str = Field("", description="Consensus: an agent that groups answers meaning the same (optional).")


class TaskOut(Schema):
    id: int
    position: int
    agent: str
    capability: str
    description: str
    input: str
    status: str = Field(..., description="pending, in_progress, completed, failed or cancelled")
    result: str
    error: str
    attempts: int
    started_at: datetime | None
    finished_at: datetime | None
    duration_seconds: float | None
    tokens: int
    cost_usd: float
    estimated_seconds: float


class RunOut(Schema):
    id: int
    mode: str
    status: str = Field(..., description="pending, in_progress, completed, failed or cancelled")
    request: str
    strategy: str
    min_agreement: float
    strict: bool
    result: dict | None = Field(
        None,
        description=(
            "Consensus: consensus, agreement, answer, tie and votes "
            "[{task_id, agent, answer, normalised, vote}]; "
            "hierarchical: strategy and answer; every mode: the tasks."
        ),
    )
    error: str
    tasks_done: int
    tasks_total: int
    estimated_seconds: float
    estimated_cost_usd: float
    tokens: int
    cost_usd: float
    started_by: str | None
    conversation_id: int | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    duration_seconds: float | None
    tasks: list[TaskOut]


class AgentStatisticsOut(Schema):
    agent: str
    completed: int
    failed: int
    cancelled: int
    success_rate: float | None
    mean_seconds: float | None
    p95_seconds: float | None
    cost_usd: float


class StatisticsOut(Schema):
    runs: int
    runs_by_status: dict[str, int]
    runs_by_mode: dict[str, int]
    tasks: int
    tasks_by_status: dict[str, int]
    run_success_rate: float | None
    task_success_rate: float | None
    run_duration_mean_seconds: float | None
    run_duration_p95_seconds: float | None
    task_duration_mean_seconds: float | None
    task_duration_p95_seconds: float | None
    cost_usd: float
    tokens: int
    per_agent: list[AgentStatisticsOut]
