"""The analytics figures as JSON: ``/api/accounts/{account}/analytics/...``, each over a window
(``window=24h|7d|30d`` or ``window=custom&start=YYYY-MM-DD&end=YYYY-MM-DD``, the end date
included). Operators and admins of the account may read them; anyone else gets 404 (not a member)
or 403 (a member without the operator role)."""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.errors import HttpError

from accounts.models import Account
from agents.api_selectors import membership_for_account_slug
from analytics.selectors.agents import AgentFigures, agent_figures
from analytics.selectors.alerts import alert_get, alert_rule_get, alerts_recent
from analytics.selectors.cohorts import CohortFigures, cohort_figures
from analytics.selectors.escalations import EscalationFigures, escalation_figures
from analytics.selectors.handoffs import HandoffFigures, handoff_figures
from analytics.selectors.overview import OverviewFigures, overview_figures
from analytics.selectors.routing import RoutingFigures, routing_figures
from analytics.services import alert_acknowledge, alert_rule_silence
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
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    acknowledge_note: str

    @staticmethod
    def resolve_kind(obj) -> str:
        return obj.rule.kind

    @staticmethod
    def resolve_acknowledged_by(obj) -> str | None:
        return obj.acknowledged_by.get_username() if obj.acknowledged_by else None


class AcknowledgeIn(Schema):
    note: str = Field("", description="What is being done about it.")


class SilenceIn(Schema):
    minutes: int = Field(
        ..., description="How long the rule stays silent, up to 10080 (a week); 0 ends a silence."
    )
    reason: str = Field("", description="Why; required unless ending a silence.")


class AlertRuleSilenceOut(Schema):
    id: int
    kind: str
    silenced_until: datetime | None
    silenced_by: str | None
    silence_reason: str

    @staticmethod
    def resolve_silenced_by(obj) -> str | None:
        return obj.silenced_by.get_username() if obj.silenced_by else None


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


@router.post(
    "/accounts/{account}/analytics/alerts/{alert_id}/acknowledge",
    response=AlertOut,
    summary="Acknowledge an alert (operators and admins): recorded with who and the note",
)
def analytics_alert_acknowledge(request: HttpRequest, account: str, alert_id: int, payload: AcknowledgeIn):
    scoped, _ = _scope(request, account, WindowParams())
    alert = alert_get(account=scoped, pk=alert_id)
    if alert is None:
        raise Http404
    return alert_acknowledge(alert=alert, user=request.user, note=payload.note)


@router.post(
    "/accounts/{account}/analytics/alert-rules/{rule_id}/silence",
    response=AlertRuleSilenceOut,
    summary="Silence a rule for a period (admins): it neither fires nor emails until it ends",
)
def analytics_alert_rule_silence(request: HttpRequest, account: str, rule_id: int, payload: SilenceIn):
    scoped, _ = _scope(request, account, WindowParams())
    membership = membership_for_account_slug(user=request.user, account_slug=account)
    if not membership.is_admin:
        raise HttpError(403, "Only the account's admins may silence alert rules.")
    rule = alert_rule_get(account=scoped, pk=rule_id)
    if rule is None:
        raise Http404
    return alert_rule_silence(rule=rule, user=request.user, minutes=payload.minutes, reason=payload.reason)
