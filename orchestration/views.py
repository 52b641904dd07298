from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.decorators import account_required
from orchestration import planner
from orchestration.forms import TASK_ROWS, run_spec_from_post
from orchestration.models import WorkflowRun
from orchestration.selectors import (
    agents_for_run_form,
    capabilities_for_account,
    run_get,
    run_statistics,
    runs_visible_to,
)
from orchestration.services import run_cancel, run_start

LIST_LIMIT = 50


@require_GET
@account_required
def run_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "orchestration/runs.html",
        {
            "runs": runs_visible_to(membership=request.membership)[:LIST_LIMIT],
            "stats": run_statistics(membership=request.membership),
        },
    )


def _form_context(request: HttpRequest, values: dict, errors: dict | None = None) -> dict:
    rows = [
        {
            "index": i,
            "target": values.get(f"task-{i}-target", ""),
            "input": values.get(f"task-{i}-input", ""),
            "errors": [m for key, ms in (errors or {}).items() if key.startswith(f"tasks.{i}.") for m in ms],
        }
        for i in range(TASK_ROWS)
    ]
    return {
        "agents": agents_for_run_form(account=request.account),
        "capabilities": capabilities_for_account(account=request.account),
        "modes": [(value, label) for value, label in WorkflowRun.Mode.choices if value != "delegate"],
        "strategies": WorkflowRun.Strategy.choices,
        "values": values,
        "rows": rows,
        "errors": {k: v for k, v in (errors or {}).items() if not k.startswith("tasks.")},
        **_estimate_context(request, values),
    }


@require_http_methods(["GET", "POST"])
@account_required
def run_create(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        values = {"mode": "parallel", "min_agreement": "0.5", "strict": "on", "strategy": "concat"}
        return render(request, "orchestration/run_form.html", _form_context(request, values))
    try:
        run = run_start(
            account=request.account,
            started_by=request.user,
            reject_unavailable=True,
            **run_spec_from_post(request.POST),
        )
    except ValidationError as error:
        errors = error.message_dict if hasattr(error, "error_dict") else {"__all__": error.messages}
        return render(
            request, "orchestration/run_form.html", _form_context(request, request.POST, errors), status=400
        )
    return redirect(reverse("orchestration:run", args=[run.pk]))


@require_POST
@account_required
def run_estimate_view(request: HttpRequest) -> HttpResponse:
    """The form's estimate as the person fills it in (htmx, on every change), so the time
    and cost are known before the run starts."""
    return render(request, "orchestration/_estimate.html", _estimate_context(request, request.POST))


def _estimate_context(request: HttpRequest, values: QueryDict | dict) -> dict:
    data = QueryDict(mutable=True)
    data.update(values)
    data["min_agreement"] = "0.5"  # the estimate does not depend on it; a typo there is the form's to report
    spec = run_spec_from_post(data)
    preview = planner.run_preview(
        account=request.account,
        mode=spec["mode"],
        tasks=spec["tasks"],
        strategy=spec["strategy"],
        aggregator=spec["aggregator"],
        judge=spec["judge"],
    )
    return {"preview": preview, "mode": spec["mode"]}


@require_GET
@account_required
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return render(request, "orchestration/run.html", {"run": run_get(membership=request.membership, pk=pk)})


@require_POST
@account_required
def run_cancel_view(request: HttpRequest, pk: int) -> HttpResponse:
    run = run_get(membership=request.membership, pk=pk)
    try:
        run_cancel(run=run)
    except ValidationError as error:
        return HttpResponse(" ".join(error.messages), status=409)
    if request.headers.get("HX-Request"):
        return render(
            request, "orchestration/_run_detail.html", {"run": run_get(membership=request.membership, pk=pk)}
        )
    return redirect("orchestration:run", pk=pk)
