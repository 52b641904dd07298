"""Evaluation datasets and runs as JSON: ``/api/accounts/{account}/evaluation/...``. Account admins
only (403 for other members, 404 for anyone outside the account or another account's ids). Bad
input is a 400 naming the field; a bad file names each bad line, and nothing is imported."""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema
from ninja.errors import HttpError

from accounts.models import Account
from agents.api_selectors import membership_for_account_slug
from analytics.evaluation import selectors
from analytics.evaluation.datasets import DatasetFileError, dataset_export, dataset_import
from analytics.evaluation.figures import runs_compare
from analytics.evaluation.models import EvaluationDataset, EvaluationResult, EvaluationRun
from analytics.evaluation.runner import EvaluationRunError, evaluation_run_start

router = Router(tags=["evaluation"])
BASE = "/accounts/{account}/evaluation"


class EvaluationDatasetOut(Schema):
    id: int
    name: str
    description: str
    version: int
    cases: int
    updated_at: datetime


class EvaluationCaseOut(Schema):
    key: str
    turns: list[str]
    expected_agent: str
    out_of_scope: bool
    facts: list[str]
    source: str
    tool: str
    approval_expected: bool | None
    must_not_act: bool
    notes: str


class EvaluationDatasetDetailOut(EvaluationDatasetOut):
    case_list: list[EvaluationCaseOut] = Field(..., alias="cases_detail")


class EvaluationDatasetImportIn(Schema):
    name: str = Field(..., min_length=1, max_length=100)
    format: str = Field("jsonl", pattern="^(jsonl|csv)$")
    content: str = Field(..., max_length=5_000_000)
    description: str = Field("", max_length=1000)


class EvaluationExportParams(Schema):
    format: str = Field("jsonl", pattern="^(jsonl|csv)$")


class EvaluationRunIn(Schema):
    dataset_id: int


class EvaluationRunOut(Schema):
    id: int
    dataset_id: int
    dataset: str
    dataset_version: int
    status: str
    error: str
    total: int
    done: int
    passed: int
    figures: dict
    created_at: datetime
    finished_at: datetime | None


class EvaluationResultOut(Schema):
    id: int
    case_key: str
    status: str
    expectations: dict
    checks: list[dict]
    answer: str
    agent: str
    out_of_scope: bool
    sources: list[str]
    tool_calls: list[dict]
    latency_ms: int | None
    conversation_id: int | None


class EvaluationRunDetailOut(EvaluationRunOut):
    results: list[EvaluationResultOut]


class EvaluationChangeOut(Schema):
    case_key: str
    before: str
    after: str


class EvaluationCompareOut(Schema):
    base: EvaluationRunOut
    other: EvaluationRunOut
    regressed: list[EvaluationChangeOut]
    fixed: list[EvaluationChangeOut]
    still_failing: list[EvaluationChangeOut]
    unmatched: list[EvaluationChangeOut]
    unchanged_passing: int


def _account(request: HttpRequest, slug: str) -> Account:
    membership = membership_for_account_slug(user=request.user, account_slug=slug)
    if membership is None:
        raise Http404
    if not membership.is_admin:
        raise HttpError(403, "Only the account's admins may see and run evaluations.")
    return membership.account


def _dataset(account: Account, dataset_id: int) -> EvaluationDataset:
    try:
        return selectors.evaluation_dataset_get(account=account, dataset_id=dataset_id)
    except EvaluationDataset.DoesNotExist as exc:
        raise Http404 from exc


def _run(account: Account, run_id: int) -> EvaluationRun:
    try:
        return selectors.evaluation_run_get(account=account, run_id=run_id)
    except EvaluationRun.DoesNotExist as exc:
        raise Http404 from exc


def _dataset_out(dataset: EvaluationDataset, *, detail: bool = False) -> dict:
    cases = list(dataset.cases.all())
    out = {
        "id": dataset.pk, "name": dataset.name, "description": dataset.description,
        "version": dataset.version, "cases": len(cases), "updated_at": dataset.updated_at,
    }  # fmt: skip
    if detail:
        out["cases_detail"] = cases
    return out


def _run_out(run: EvaluationRun) -> dict:
    return {
        "id": run.pk, "dataset_id": run.dataset_id, "dataset": run.dataset.name,
        "dataset_version": run.dataset_version, "status": run.status, "error": run.error, "total": run.total,
        "done": run.done, "passed": run.passed, "figures": run.figures, "created_at": run.created_at,
        "finished_at": run.finished_at,
    }  # fmt: skip


@router.get(f"{BASE}/datasets", response=list[EvaluationDatasetOut])
def dataset_list(request: HttpRequest, account: str):
    return [
        _dataset_out(d) for d in selectors.evaluation_datasets_for_account(account=_account(request, account))
    ]


@router.post(f"{BASE}/datasets", response={201: EvaluationDatasetOut})
def dataset_create(request: HttpRequest, account: str, payload: EvaluationDatasetImportIn):
    """Import a dataset from JSONL or CSV text; a dataset of that name has its cases replaced."""
    scoped = _account(request, account)
    try:
        dataset = dataset_import(
            account=scoped, name=payload.name, content=payload.content, file_format=payload.format,
            description=payload.description,
        )  # fmt: skip
    except DatasetFileError as exc:
        raise ValidationError({"content": exc.errors}) from exc
    return 201, _dataset_out(dataset)


@router.get(f"{BASE}/datasets/{{dataset_id}}", response=EvaluationDatasetDetailOut)
def dataset_detail(request: HttpRequest, account: str, dataset_id: int):
    return _dataset_out(_dataset(_account(request, account), dataset_id), detail=True)


@router.get(f"{BASE}/datasets/{{dataset_id}}/export")
def dataset_download(
    request: HttpRequest, account: str, dataset_id: int, params: Query[EvaluationExportParams]
):
    """The dataset as a JSONL or CSV file."""
    dataset = _dataset(_account(request, account), dataset_id)
    content_type = "application/x-ndjson" if params.format == "jsonl" else "text/csv"
    response = HttpResponse(
        dataset_export(dataset=dataset, file_format=params.format), content_type=content_type
    )
    response["Content-Disposition"] = (
        f'attachment; filename="evaluation-{dataset.pk}-v{dataset.version}.{params.format}"'
    )
    return response


@router.get(f"{BASE}/runs", response=list[EvaluationRunOut])
def run_list(request: HttpRequest, account: str):
    return [
        _run_out(r) for r in selectors.evaluation_runs_for_account(account=_account(request, account))[:100]
    ]


@router.post(f"{BASE}/runs", response={202: EvaluationRunOut})
def run_create(request: HttpRequest, account: str, payload: EvaluationRunIn):
    """Start a run of a dataset on the workers; follow it with GET .../runs/{evaluation_run_id}."""
    scoped = _account(request, account)
    dataset = EvaluationDataset.objects.filter(account=scoped, pk=payload.dataset_id).first()
    if dataset is None:
        raise ValidationError({"dataset_id": ["No such dataset in this account."]})
    try:
        run = evaluation_run_start(account=scoped, dataset=dataset, user=request.user)
    except EvaluationRunError as exc:
        raise ValidationError({exc.field: [str(exc)]}) from exc
    return 202, _run_out(run)


@router.get(f"{BASE}/runs/{{evaluation_run_id}}", response=EvaluationRunDetailOut)
def run_detail(request: HttpRequest, account: str, evaluation_run_id: int):
    run = _run(_account(request, account), evaluation_run_id)
    results: list[EvaluationResult] = list(run.results.all())
    return {**_run_out(run), "results": results}


@router.get(f"{BASE}/runs/{{evaluation_run_id}}/compare/{{other_run_id}}", response=EvaluationCompareOut)
def run_compare(request: HttpRequest, account: str, evaluation_run_id: int, other_run_id: int):
    """Which cases regressed (passed in the first run, failed in the other) and which were fixed."""
    scoped = _account(request, account)
    comparison = runs_compare(base=_run(scoped, evaluation_run_id), other=_run(scoped, other_run_id))
    return {
        "base": _run_out(comparison.base), "other": _run_out(comparison.other),
        "regressed": comparison.regressed, "fixed": comparison.fixed,
        "still_failing": comparison.still_failing, "unmatched": comparison.unmatched,
        "unchanged_passing": comparison.unchanged_passing,
    }  # fmt: skip
