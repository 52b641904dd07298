"""The escalations API, for the account's operators and admins (members get 403; anyone
outside the account, and another account's escalations, 404)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest
from ninja import Query, Router, Schema, Status
from ninja.errors import HttpError

from accounts.models import Membership
from agents.api_selectors import membership_for_account_slug
from escalations.models import Escalation
from escalations.schemas import (
    AssignIn,
    EscalationDetailOut,
    EscalationIn,
    EscalationOut,
    MessageOut,
    PatternOut,
    PromoteIn,
    QueueHealthOut,
    ReplyIn,
    ResolveIn,
)
from escalations.selectors import escalations_filtered, operators_for_account, queue_health, sla_clocks
from escalations.services import (
    EscalationConflict,
    escalation_assign,
    escalation_claim,
    escalation_escalate_by_hand,
    escalation_reply,
    escalation_resolve,
    pattern_promote,
)

router = Router(tags=["escalations"])


class QueueFilters(Schema):
    status: str = "queue"
    priority: str = ""
    older_than: str = ""


def _operator(request: HttpRequest, account: str) -> Membership:
    membership = membership_for_account_slug(user=request.user, account_slug=account)
    if membership is None:
        raise Http404
    if not membership.is_operator:
        raise HttpError(403, "Only the account's operators and admins may work escalations.")
    return membership


def _escalation(membership: Membership, pk: int) -> Escalation:
    escalation = (
        Escalation.objects.filter(account=membership.account, pk=pk).select_related("assignee").first()
    )
    if escalation is None:
        raise Http404
    return escalation


def escalation_json(escalation: Escalation) -> dict:
    return {
        "id": escalation.pk,
        "conversation_id": escalation.conversation_id,
        "message_id": escalation.message_id,
        "trigger": escalation.trigger,
        "reason": escalation.reason,
        "question": escalation.question,
        "priority": escalation.priority,
        "status": escalation.status,
        "phase": escalation.phase,
        "resolved_by_phase": escalation.resolved_by_phase,
        "assignee": escalation.assignee.get_username() if escalation.assignee else None,
        "email_status": escalation.email_status,
        "sla": [
            {"label": c.label, "due_at": c.due_at, "met_at": c.met_at, "state": c.state}
            for c in sla_clocks(escalation)
        ],
        "created_at": escalation.created_at,
        "queued_at": escalation.queued_at,
        "first_response_at": escalation.first_response_at,
        "resolved_at": escalation.resolved_at,
        "resolution_note": escalation.resolution_note,
    }


def _detail_json(escalation: Escalation) -> dict:
    return {
        **escalation_json(escalation),
        "workflow_run_id": escalation.workflow_run_id,
        "phases": list(escalation.phase_runs.values()),
        "consultations": [
            {
                "phase": c.phase, "agent": c.agent.slug if c.agent else None, "proposal": c.proposal,
                "confidence": c.confidence, "vote": c.vote, "agreed": c.agreed, "status": c.status,
                "started_at": c.started_at, "finished_at": c.finished_at, "duration_ms": c.duration_ms,
            }
            for c in escalation.consultations.select_related("agent")
        ],
    }  # fmt: skip


def _act(action):
    try:
        return action()
    except EscalationConflict as error:
        raise HttpError(409, " ".join(error.messages)) from error


@router.get("/accounts/{account}/escalations", response=list[EscalationOut], summary="The escalation queue")
def escalations_list(request: HttpRequest, account: str, filters: Query[QueueFilters]):
    membership = _operator(request, account)
    escalations = escalations_filtered(account=membership.account, **filters.dict())[:500]
    return [escalation_json(e) for e in escalations]


@router.get("/accounts/{account}/escalation-queue", response=QueueHealthOut, summary="The queue at a glance")
def escalations_queue_health(request: HttpRequest, account: str):
    return queue_health(account_id=_operator(request, account).account_id)


@router.post("/accounts/{account}/escalations", response={201: EscalationOut}, summary="Escalate by hand")
def escalations_create(request: HttpRequest, account: str, payload: EscalationIn):
    membership = _operator(request, account)
    escalation = _act(
        lambda: escalation_escalate_by_hand(
            account=membership.account,
            user=request.user,
            conversation_id=payload.conversation_id,
            reason=payload.reason,
            priority=payload.priority,
        )
    )
    return Status(201, escalation_json(_escalation(membership, escalation.pk)))


@router.get(
    "/accounts/{account}/escalations/{escalation_id}", response=EscalationDetailOut, summary="One escalation"
)
def escalations_get(request: HttpRequest, account: str, escalation_id: int):
    return _detail_json(_escalation(_operator(request, account), escalation_id))


@router.post("/accounts/{account}/escalations/{escalation_id}/claim", response=EscalationOut, summary="Claim")
def escalations_claim(request: HttpRequest, account: str, escalation_id: int):
    escalation = _escalation(_operator(request, account), escalation_id)
    return escalation_json(_act(lambda: escalation_claim(escalation=escalation, user=request.user)))


@router.post(
    "/accounts/{account}/escalations/{escalation_id}/assign", response=EscalationOut, summary="Assign"
)
def escalations_assign(request: HttpRequest, account: str, escalation_id: int, payload: AssignIn):
    membership = _operator(request, account)
    escalation = _escalation(membership, escalation_id)
    # Looked up among the account's operators only, so a user of another account, a member who
    # is not an operator and a name nobody has all get the same answer: nothing about who exists.
    operators = operators_for_account(account_id=membership.account_id)
    assignee = operators.filter(username=payload.assignee).first()
    if assignee is None:
        raise ValidationError({"assignee": f"No operator of this account is called {payload.assignee!r}."})
    _act(lambda: escalation_assign(escalation=escalation, user=request.user, assignee=assignee))
    return escalation_json(_escalation(membership, escalation_id))


@router.post(
    "/accounts/{account}/escalations/{escalation_id}/reply",
    response={201: MessageOut},
    summary="Reply in the user's conversation",
)
def escalations_reply(request: HttpRequest, account: str, escalation_id: int, payload: ReplyIn):
    escalation = _escalation(_operator(request, account), escalation_id)
    message = _act(
        lambda: escalation_reply(escalation=escalation, user=request.user, content=payload.content)
    )
    return Status(201, {"message_id": message.pk, "conversation_id": message.conversation_id})


@router.post(
    "/accounts/{account}/escalations/{escalation_id}/resolve", response=EscalationOut, summary="Resolve"
)
def escalations_resolve(request: HttpRequest, account: str, escalation_id: int, payload: ResolveIn):
    escalation = _escalation(_operator(request, account), escalation_id)
    return escalation_json(
        _act(lambda: escalation_resolve(escalation=escalation, user=request.user, note=payload.note))
    )


@router.post(
    "/accounts/{account}/escalations/{escalation_id}/promote",
    response={201: PatternOut},
    summary="Promote the resolution to a draft learned pattern",
)
def escalations_promote(
    request: HttpRequest, account: str, escalation_id: int, payload: PromoteIn | None = None
):
    escalation = _escalation(_operator(request, account), escalation_id)
    edits = payload or PromoteIn()
    problem, fix = edits.problem, edits.fix
    user = request.user
    pattern = _act(lambda: pattern_promote(escalation=escalation, user=user, problem=problem, fix=fix))
    return Status(
        201,
        {"id": pattern.pk, "problem": pattern.problem, "fix": pattern.fix, "status": pattern.status,
         "source_escalation_id": pattern.source_escalation_id},
    )  # fmt: skip
