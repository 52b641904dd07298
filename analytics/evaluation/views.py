"""Evaluation pages, for the account's admins: datasets (import, export, edit cases), runs with live
progress, one case's result with its transcript, and two runs compared."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.decorators import account_required
from analytics.evaluation import selectors
from analytics.evaluation.datasets import (
    DatasetFileError,
    dataset_export,
    dataset_import,
    evaluation_case_delete,
    evaluation_case_save,
)
from analytics.evaluation.figures import runs_compare
from analytics.evaluation.forms import CaseForm, DatasetImportForm
from analytics.evaluation.models import EvaluationCase, EvaluationDataset, EvaluationRun
from analytics.evaluation.runner import EvaluationRunError, evaluation_run_start
from conversations.models import Message, ToolCall


def admin_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @account_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.membership.is_admin:
            raise PermissionDenied("Evaluations are for the account's admins.")
        return view(request, *args, **kwargs)

    return wrapper


def _dataset(request: HttpRequest, pk: int) -> EvaluationDataset:
    try:
        return selectors.evaluation_dataset_get(account=request.account, dataset_id=pk)
    except EvaluationDataset.DoesNotExist as exc:
        raise Http404 from exc


def _run(request: HttpRequest, pk: int) -> EvaluationRun:
    try:
        return selectors.evaluation_run_get(account=request.account, run_id=pk)
    except EvaluationRun.DoesNotExist as exc:
        raise Http404 from exc


@require_GET
@admin_required
def evaluations_page(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "analytics/evaluation/index.html",
        {
            "datasets": selectors.evaluation_datasets_for_account(account=request.account),
            "runs": selectors.evaluation_runs_for_account(account=request.account)[:30],
            "import_form": DatasetImportForm(),
        },
    )


@require_POST
@admin_required
def dataset_import_view(request: HttpRequest) -> HttpResponse:
    form = DatasetImportForm(request.POST, request.FILES)
    file_errors: list[str] = []
    if form.is_valid():
        try:
            dataset = dataset_import(
                account=request.account, name=form.cleaned_data["name"], content=form.content,
                file_format=form.file_format, description=form.cleaned_data["description"],
            )  # fmt: skip
        except DatasetFileError as exc:
            file_errors = exc.errors
        else:
            messages.success(
                request, f"Imported {dataset.cases.count()} cases into {dataset.name} v{dataset.version}."
            )
            return redirect("analytics:evaluation-dataset", pk=dataset.pk)
    context = {
        "datasets": selectors.evaluation_datasets_for_account(account=request.account),
        "runs": selectors.evaluation_runs_for_account(account=request.account)[:30],
        "import_form": form,
        "file_errors": file_errors,
    }
    return render(request, "analytics/evaluation/index.html", context, status=400)


@require_GET
@admin_required
def dataset_page(request: HttpRequest, pk: int) -> HttpResponse:
    dataset = _dataset(request, pk)
    return render(
        request,
        "analytics/evaluation/dataset.html",
        {
            "dataset": dataset,
            "cases": dataset.cases.all(),
            "runs": selectors.evaluation_runs_for_account(account=request.account, dataset=dataset)[:10],
        },
    )


@require_GET
@admin_required
def dataset_export_view(request: HttpRequest, pk: int, file_format: str) -> HttpResponse:
    if file_format not in {"jsonl", "csv"}:
        raise Http404
    dataset = _dataset(request, pk)
    content_type = "application/x-ndjson" if file_format == "jsonl" else "text/csv"
    response = HttpResponse(
        dataset_export(dataset=dataset, file_format=file_format), content_type=content_type
    )
    name = f"evaluation-{dataset.pk}-v{dataset.version}.{file_format}"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@require_http_methods(["GET", "POST"])
@admin_required
def case_edit(request: HttpRequest, pk: int, case_id: int | None = None) -> HttpResponse:
    dataset = _dataset(request, pk)
    case = None
    if case_id is not None:
        case = EvaluationCase.objects.filter(dataset=dataset, pk=case_id).first()
        if case is None:
            raise Http404
    form = CaseForm.for_case(case, request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        saved, errors = evaluation_case_save(dataset=dataset, fields=form.case_fields(), case=case)
        if saved is not None:
            messages.success(request, f"Saved {saved.key}: {dataset.name} is now v{dataset.version}.")
            return redirect("analytics:evaluation-dataset", pk=dataset.pk)
        for name, problem in errors.items():
            form.add_error(name if name in form.fields else None, problem)
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "analytics/evaluation/case.html",
        {"dataset": dataset, "case": case, "form": form},
        status=status,
    )


@require_POST
@admin_required
def case_delete_view(request: HttpRequest, pk: int, case_id: int) -> HttpResponse:
    dataset = _dataset(request, pk)
    case = EvaluationCase.objects.filter(dataset=dataset, pk=case_id).first()
    if case is None:
        raise Http404
    evaluation_case_delete(case=case)
    messages.success(request, f"Deleted {case.key}.")
    return redirect("analytics:evaluation-dataset", pk=dataset.pk)


@require_POST
@admin_required
def run_start_view(request: HttpRequest, pk: int) -> HttpResponse:
    dataset = _dataset(request, pk)
    try:
        run = evaluation_run_start(account=request.account, dataset=dataset, user=request.user)
    except EvaluationRunError as exc:
        messages.error(request, str(exc))
        return redirect("analytics:evaluation-dataset", pk=dataset.pk)
    return redirect("analytics:evaluation-run", pk=run.pk)


@require_GET
@admin_required
def run_page(request: HttpRequest, pk: int) -> HttpResponse:
    run = _run(request, pk)
    others = selectors.evaluation_runs_for_account(account=request.account).exclude(pk=run.pk)
    others = others.filter(status=EvaluationRun.Status.COMPLETE)[:20]
    return render(
        request, "analytics/evaluation/run.html", {**selectors.evaluation_run_view(run), "others": others}
    )


@require_GET
@admin_required
def result_page(request: HttpRequest, pk: int, result_id: int) -> HttpResponse:
    run = _run(request, pk)
    result = run.results.filter(pk=result_id).select_related("conversation").first()
    if result is None:
        raise Http404
    transcript, calls = [], []
    if result.conversation_id:
        transcript = Message.objects.filter(conversation_id=result.conversation_id).select_related("agent")
        calls = ToolCall.objects.filter(conversation_id=result.conversation_id)
    return render(
        request,
        "analytics/evaluation/result.html",
        {"run": run, "result": result, "transcript": transcript, "calls": calls},
    )


@require_GET
@admin_required
def compare_page(request: HttpRequest, pk: int) -> HttpResponse:
    run = _run(request, pk)
    try:
        other = _run(request, int(request.GET.get("other", "")))
    except ValueError as exc:
        raise Http404 from exc
    comparison = runs_compare(base=other, other=run)
    return render(
        request,
        "analytics/evaluation/compare.html",
        {
            "comparison": comparison,
            "base_summary": selectors.evaluation_summary(other),
            "other_summary": selectors.evaluation_summary(run),
        },
    )
