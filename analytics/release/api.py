"""The readiness report as JSON: ``GET /api/accounts/{account}/readiness`` (the latest) and
``POST`` (run the checks now). Account admins only: another account is 404, a member without
the admin role 403."""

from __future__ import annotations

from datetime import datetime

from django.http import Http404, HttpRequest
from ninja import Router, Schema
from ninja.errors import HttpError

from accounts.models import Account
from agents.api_selectors import membership_for_account_slug
from analytics.release.models import ReadinessReport
from analytics.release.readiness import readiness_as_json, readiness_latest, readiness_report_create

router = Router(tags=["readiness"])


class CheckOut(Schema):
    key: str
    label: str
    status: str  # pass | warn | fail | n/a (left out of the total)
    evidence: str


class ReadinessOut(Schema):
    id: int
    account: str
    created_at: datetime
    created_by: str | None
    score: int
    status: str  # PRODUCTION_READY | PARTIALLY_READY | NEEDS_ATTENTION | NOT_READY
    passed: int
    total: int  # applicable checks
    not_applicable: int
    checks: list[CheckOut]


def _admin_account(request: HttpRequest, account: str) -> Account:
    membership = membership_for_account_slug(user=request.user, account_slug=account)
    if membership is None:
        raise Http404
    if not membership.is_admin:
        raise HttpError(403, "The readiness report is for the account's admins.")
    return membership.account


@router.get(
    "/accounts/{account}/readiness",
    response=ReadinessOut,
    summary="The latest readiness report (404 when none has been run)",
)
def readiness_get(request: HttpRequest, account: str):
    report = readiness_latest(account=_admin_account(request, account))
    if report is None:
        raise HttpError(404, "No readiness report yet: POST to this path to run the checks.")
    return readiness_as_json(report)


@router.post(
    "/accounts/{account}/readiness",
    response=ReadinessOut,
    summary="Run the readiness checks now and keep the report",
)
def readiness_run(request: HttpRequest, account: str):
    scoped = _admin_account(request, account)
    report = readiness_report_create(account=scoped, actor=request.user, source=ReadinessReport.Source.API)
    return readiness_as_json(report)
