"""The runs API: start a run, read it, cancel it, and the account's statistics.

Account routes answer 404 to anyone who is not a member of the account, and for runs of
another account, whether or not they exist. Within the account a member sees and cancels
only their own runs (``orchestration.selectors.runs_visible_to``); another member's run is a
404 too. Operators and admins see all the account's runs.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest
from ninja import Router, Status

from accounts.models import Membership
from agents.api_selectors import membership_for_account_slug
from orchestration.models import WorkflowRun
from orchestration.schemas import RunIn, RunOut, StatisticsOut
from orchestration.selectors import run_get, run_progress, run_statistics, runs_visible_to
from orchestration.services import run_cancel, run_start

router = Router(tags=["orchestration"])


def _membership(request: HttpRequest, account: str) -> Membership:
    membership = membership_for_account_slug(user=request.user, account_slug=account)
    if membership is None:
        raise Http404
    return membership


def run_json(run: WorkflowRun) -> dict:
    done, total = run_progress(run)
    return {
        "id": run.pk,
        "mode": run.mode,
        "status": run.status,
        "request": run.request,
        "strategy": run.strategy,
        "min_agreement": run.min_agreement,
        "strict": run.strict,
        "result": run.result,
        "error": run.error,
        "tasks_done": done,
        "tasks_total": total,
        "estimated_seconds": run.estimated_seconds,
        "estimated_cost_usd": float(run.estimated_cost_usd),
        "tokens": run.tokens,
        "cost_usd": float(run.cost_usd),
        "started_by": run.started_by.get_username() if run.started_by else None,
        "conversation_id": run.conversation_id,
        "created_at": run.created_at,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "duration_seconds": run.duration_seconds,
        "tasks": [
            {
                "id": t.pk,
                "position": t.position,
                "agent": t.agent_slug,
                "capability": t.capability,
                "description": t.description,
                "input": t.input,
                "status": t.status,
                "result": t.result,
                "error": t.error,
                "attempts": t.attempts,
                "started_at": t.started_at,
                "finished_at": t.finished_at,
                "duration_seconds": t.duration_seconds,
                "tokens": t.tokens,
                "cost_usd": float(t.cost_usd),
                "estimated_seconds": t.estimated_seconds,
            }
            for t in run.tasks.all()
        ],
    }


@router.post("/accounts/{account}/runs", response={201: RunOut}, summary="Start a run of agents")
def runs_create(request: HttpRequest, account: str, payload: RunIn):
    membership = _membership(request, account)
    tasks = [t.dict(exclude_none=True) for t in payload.tasks]
    run = run_start(
        account=membership.account,
        mode=payload.mode,
        tasks=tasks,
        strategy=payload.strategy,
        min_agreement=payload.min_agreement,
        strict=payload.strict,
        request=payload.request,
        aggregator=payload.aggregator,
        judge=payload.judge,
        started_by=request.user,
        reject_unavailable=True,
    )
    return Status(201, run_json(run_get(membership=membership, pk=run.pk)))


@router.get(
    "/accounts/{account}/runs",
    response=list[RunOut],
    summary="The latest runs: a member's own, or the account's for operators and admins",
)
def runs_list(request: HttpRequest, account: str, limit: int = 50):
    membership = _membership(request, account)
    runs = runs_visible_to(membership=membership).prefetch_related("tasks")[: max(1, min(limit, 200))]
    return [run_json(r) for r in runs]


@router.get(
    "/accounts/{account}/runs/statistics",
    response=StatisticsOut,
    summary="Run and task statistics, over the runs the caller may see",
)
def runs_statistics(request: HttpRequest, account: str):
    return run_statistics(membership=_membership(request, account))


@router.get("/accounts/{account}/runs/{run_id}", response=RunOut, summary="A run with its tasks")
def runs_get(request: HttpRequest, account: str, run_id: int):
    return run_json(run_get(membership=_membership(request, account), pk=run_id))


@router.post("/accounts/{account}/runs/{run_id}/cancel", response=RunOut, summary="Cancel a run")
def runs_cancel(request: HttpRequest, account: str, run_id: int):
    membership = _membership(request, account)
    run_cancel(run=run_get(membership=membership, pk=run_id))
    return run_json(run_get(membership=membership, pk=run_id))
