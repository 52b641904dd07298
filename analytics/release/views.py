"""The Readiness page (account admins and staff): the latest report with each check's evidence,
a button that runs the checks now, earlier reports, and each report as Markdown or JSON."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from accounts.decorators import account_required
from analytics.release.models import ReadinessReport
from analytics.release.readiness import (
    NA,
    PASS,
    readiness_as_json,
    readiness_as_markdown,
    readiness_report_create,
    readiness_report_get,
    readiness_reports_recent,
)
from rollout.selectors import rollout_can_manage


def readiness_admin_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @account_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not rollout_can_manage(user=request.user, membership=request.membership):
            raise PermissionDenied("The readiness report is for the account's admins.")
        return view(request, *args, **kwargs)

    return wrapper


def _report_or_404(request: HttpRequest, pk: int) -> ReadinessReport:
    try:
        return readiness_report_get(account=request.account, report_id=pk)
    except ReadinessReport.DoesNotExist:
        raise Http404("No such readiness report.") from None


@require_GET
@readiness_admin_required
def readiness_page(request: HttpRequest) -> HttpResponse:
    reports = list(readiness_reports_recent(account=request.account))
    report = reports[0] if reports else None
    context = {
        "report": report,
        "passed": sum(c["status"] == PASS for c in report.checks) if report else 0,
        "applicable": sum(c["status"] != NA for c in report.checks) if report else 0,
        "not_applicable": sum(c["status"] == NA for c in report.checks) if report else 0,
        "earlier": reports[1:],
    }
    return render(request, "analytics/readiness.html", context)


@require_POST
@readiness_admin_required
def readiness_run(request: HttpRequest) -> HttpResponse:
    report = readiness_report_create(
        account=request.account, actor=request.user, source=ReadinessReport.Source.PAGE
    )
    messages.success(request, f"Readiness checked: {report.score}, {report.get_status_display()}.")
    return redirect("readiness:page")


@require_GET
@readiness_admin_required
def readiness_markdown(request: HttpRequest, pk: int) -> HttpResponse:
    report = _report_or_404(request, pk)
    response = HttpResponse(readiness_as_markdown(report), content_type="text/markdown; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="readiness-{report.account.slug}-{report.pk}.md"'
    return response


@require_GET
@readiness_admin_required
def readiness_json(request: HttpRequest, pk: int) -> HttpResponse:
    report = _report_or_404(request, pk)
    response = HttpResponse(json.dumps(readiness_as_json(report), indent=2), content_type="application/json")
    name = f"readiness-{report.account.slug}-{report.pk}.json"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
