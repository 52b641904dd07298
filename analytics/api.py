"""The analytics figures as JSON: ``/api/accounts/{account}/analytics/...``, each over a window
(``window=24h|7d|30d`` or ``window=custom&start=YYYY-MM-DD&end=YYYY-MM-DD``, the end date
included). Operators and admins of the account may read them; anyone else gets 404 (not a member)
or 403 (a member without the operator role)."""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest
from ninja import Query, Router, Schema
from ninja.errors import HttpError

from accounts.models import Account
from agents.api_selectors import membership_for_account_slug
from analytics.selectors.agents import AgentFigures, agent_figures
from analytics.selectors.alerts import alerts_recent
from analytics.selectors.cohorts import CohortFigures, cohort_figures
from analytics.selectors.escalations import EscalationFigures, escalation_figures
from analytics.selectors.handoffs import HandoffFigures, handoff_figures
from analytics.selectors.overview import OverviewFigures, overview_figures
from analytics.selectors.routing import RoutingFigures, routing_figures
from analytics.windows import Window, window_parse

router = Router(tags=["analytics"])


class WindowParams(Schema):
    window: str = "7d"
    start: str | None = None
    end: str | None = None


class WindowOut(Schema):
    start: datetime
    end: datetime
    preset: str


class AlertOut(Schema):
    id: int
    kind: str
    severity: str
    status: str
    message: str
    value: float
    last_value: float
    fired_at: datetime
    resolved_at: datetime | None
    emailed_at: datetime | None

    @staticmethod
    def resolve_kind(obj) -> str:
        return obj.rule.kind


def _scope(request: HttpRequest, account: str, params: WindowParams) -> tuple[Account, Window]:
    membership = membership_for_account_slug(user=request.user, account_slug=account)
    if membership is None:
        raise Http404
    if not membership.is_operator:
        raise HttpError(403, "Analytics are for the account's operators and admins.")
    try:
        window = window_parse(window=params.window, start=params.start, end=params.end)
    except ValidationError:
        raise  # the API's handler answers 400 with the field and the reason
    return membership.account, window


def _response(window: Window, figures) -> dict:
    return {"window": {"start": window.start, "end": window.end, "preset": window.preset}, "figures": figures}


class OverviewOut(Schema):
    window: WindowOut
    figures: OverviewFigures


class HandoffsOut(Schema):
    window: WindowOut
    figures: HandoffFigures


class RoutingOut(Schema):
    window: WindowOut
    figures: RoutingFigures


class AgentsOut(Schema):
    window: WindowOut
    figures: AgentFigures


class CohortsOut(Schema):
    window: WindowOut
    figures: CohortFigures


@router.get("/accounts/{account}/analytics/overview", response=OverviewOut, summary="Headline figures")
def analytics_overview(request: HttpRequest, account: str, params: Query[WindowParams]):
    scoped, window = _scope(request, account, params)
    return _response(window, overview_figures(account=scoped, window=window))


@router.get(
    "/accounts/{account}/analytics/handoffs", response=HandoffsOut, summary="Hand-offs, rate and paths"
)
def analytics_handoffs(request: HttpRequest, account: str, params: Query[WindowParams]):
    scoped, window = _scope(request, account, params)
    return _response(window, handoff_figures(account=scoped, window=window))


@router.get("/accounts/{account}/analytics/routing", response=RoutingOut, summary="Routing accuracy")
def analytics_routing(request: HttpRequest, account: str, params: Query[WindowParams]):
    scoped, window = _scope(request, account, params)
    return _response(window, routing_figures(account=scoped, window=window))


@router.get(
    "/accounts/{account}/analytics/agents",
    response=AgentsOut,
    summary="Agents and models: use, latency, cost",
)
def analytics_agents(request: HttpRequest, account: str, params: Query[WindowParams]):
    scoped, window = _scope(request, account, params)
    return _response(window, agent_figures(account=scoped, window=window))


@router.get(
    "/accounts/{account}/analytics/cohorts", response=CohortsOut, summary="Multi-agent arm against legacy"
)
def analytics_cohorts(request: HttpRequest, account: str, params: Query[WindowParams]):
    scoped, window = _scope(request, account, params)
    return _response(window, cohort_figures(account=scoped, window=window))


class EscalationsOut(Schema):
    window: WindowOut
    figures: EscalationFigures


@router.get(
    "/accounts/{account}/analytics/escalations",
    response=EscalationsOut,
    summary="Escalations: auto-fix rate per phase, human rate, response times, SLA breaches",
)
def analytics_escalations(request: HttpRequest, account: str, params: Query[WindowParams]):
    scoped, window = _scope(request, account, params)
    return _response(window, escalation_figures(account=scoped, window=window))


@router.get("/accounts/{account}/analytics/alerts", response=list[AlertOut], summary="Recent alerts")
def analytics_alerts(request: HttpRequest, account: str):
    scoped, _ = _scope(request, account, WindowParams())
    return list(alerts_recent(account=scoped))
