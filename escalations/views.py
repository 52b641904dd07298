"""The operator queue: pages and htmx fragments for the account's operators and admins."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from urllib.parse import urlencode

from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from accounts.decorators import account_required
from escalations.models import LADDER, Escalation, LearnedPattern
from escalations.selectors import (
    QUEUE_SORTS,
    escalation_get,
    escalation_transcript,
    escalations_filtered,
    operators_for_account,
    pattern_get,
    patterns_for_account,
    queue_health,
    sla_clocks,
)
from escalations.services import (
    EscalationConflict,
    escalation_assign,
    escalation_claim,
    escalation_escalate_by_hand,
    escalation_reply,
    escalation_resolve,
    pattern_approve,
    pattern_draft_for,
    pattern_edit,
    pattern_promote,
    pattern_retire,
)


def operator_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Operators and admins of the current account only; members get 403."""

    @account_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.membership.is_operator:
            return render(request, "escalations/forbidden.html", status=403)
        return view(request, *args, **kwargs)

    return wrapper


QUEUE_PAGE_SIZE = 50


def _filters(request: HttpRequest) -> dict[str, str]:
    sort = request.GET.get("sort", "triage")
    return {
        "status": request.GET.get("status", "queue"),
        "priority": request.GET.get("priority", ""),
        "older_than": request.GET.get("older_than", ""),
        "sort": sort if sort in QUEUE_SORTS else "triage",
    }


def _queue_query(filters: dict[str, str], **extra: object) -> str:
    """The filters as a query string, leaving out the defaults so shared links stay short."""
    defaults = {"status": "queue", "priority": "", "older_than": "", "sort": "triage", "page": 1}
    params = {**filters, **extra}
    return urlencode({k: v for k, v in params.items() if str(v) != str(defaults.get(k, ""))})


def _queue_context(request: HttpRequest) -> dict:
    filters = _filters(request)
    escalations = escalations_filtered(account=request.account, **filters)
    # Every matching row is reachable: a page of them, with the total and where this page sits.
    page = Paginator(escalations, QUEUE_PAGE_SIZE).get_page(request.GET.get("page"))
    query = _queue_query(filters, page=page.number)
    return {
        "filters": filters,
        "page": page,
        "query": query,
        "page_links": {
            "previous": page.has_previous() and _queue_query(filters, page=page.previous_page_number()),
            "next": page.has_next() and _queue_query(filters, page=page.next_page_number()),
        },
        "health": queue_health(account_id=request.account.pk),
        "rows": [(e, sla_clocks(e)) for e in page.object_list],
        "priorities": Escalation.Priority.choices,
        "statuses": [("queue", "Needs a person"), *Escalation.Status.choices, ("all", "All")],
        "sorts": list(QUEUE_SORTS.items()),
    }


@require_GET
@operator_required
def queue(request: HttpRequest) -> HttpResponse:
    return render(request, "escalations/queue.html", _queue_context(request))


@require_GET
@operator_required
def queue_table(request: HttpRequest) -> HttpResponse:
    # The counts change with the rows: refreshed with them, out of band.
    context = _queue_context(request)
    response = render(request, "escalations/_queue_table.html", {**context, "oob_stats": True})
    if request.headers.get("HX-Trigger") == "queue-filters":
        # A filter the operator picked becomes the page's address: shareable, kept on reload.
        query = context["query"]
        response["HX-Push-Url"] = reverse("escalations:queue") + (f"?{query}" if query else "")
    return response


def _detail_context(request: HttpRequest, escalation: Escalation) -> dict:
    runs = {run.phase: run for run in escalation.phase_runs.all()}
    consultations = list(escalation.consultations.select_related("agent"))
    ladder = [
        {
            "phase": phase,
            "label": phase.label,
            "run": runs.get(phase),
            "consultations": [c for c in consultations if c.phase == phase],
        }
        for phase in LADDER
    ]
    return {
        "escalation": escalation,
        "clocks": sla_clocks(escalation),
        "ladder": ladder,
        "transcript": escalation_transcript(escalation=escalation),
        "operators": operators_for_account(account_id=request.account.pk),
        "is_admin": request.membership.is_admin,
        "pattern": LearnedPattern.objects.filter(source_escalation=escalation).first(),
        "pattern_draft": escalation.status == Escalation.Status.RESOLVED and pattern_draft_for(escalation),
    }


@require_GET
@operator_required
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    escalation = escalation_get(account=request.account, pk=pk)
    return render(request, "escalations/detail.html", _detail_context(request, escalation))


@require_GET
@operator_required
def detail_live(request: HttpRequest, pk: int) -> HttpResponse:
    """The parts of the detail page that change (state, ladder, transcript), out of band."""
    escalation = escalation_get(account=request.account, pk=pk)
    return render(request, "escalations/_detail_parts.html", _detail_context(request, escalation))


def _action_error(request: HttpRequest, error: ValidationError, status: int) -> HttpResponse:
    response = render(
        request, "escalations/_action_error.html", {"error": " ".join(error.messages)}, status=status
    )
    # The pages' forms target the slot themselves (resolved when they post). A re-target is
    # resolved from the posting form when the answer arrives, and a live refresh may have
    # replaced that form by then (the winner's claim re-renders the state header), which
    # htmx reports as "Invalid re-target": only re-target when the form did not.
    if request.headers.get("HX-Target") != "action-error":
        response["HX-Retarget"] = "#action-error"
    response["HX-Reswap"] = "innerHTML"
    return response


def _after_action(request: HttpRequest, escalation: Escalation, *, clear_forms: bool = False) -> HttpResponse:
    if not request.headers.get("HX-Request"):
        return redirect("escalations:detail", pk=escalation.pk)
    escalation.refresh_from_db()
    context = _detail_context(request, escalation)
    context["clear_forms"] = clear_forms
    context["clear_error"] = True
    return render(request, "escalations/_detail_parts.html", context)


def _act(request: HttpRequest, pk: int, action: Callable[[Escalation], object], **after) -> HttpResponse:
    escalation = escalation_get(account=request.account, pk=pk)
    try:
        action(escalation)
    except EscalationConflict as error:
        return _action_error(request, error, status=409)
    except ValidationError as error:
        return _action_error(request, error, status=400)
    return _after_action(request, escalation, **after)


@require_POST
@operator_required
def claim(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(request, pk, lambda e: escalation_claim(escalation=e, user=request.user))


@require_POST
@operator_required
def assign(request: HttpRequest, pk: int) -> HttpResponse:
    raw = request.POST.get("assignee", "")
    # Only the account's operators are found: anyone else is answered as if nobody had that id.
    operators = operators_for_account(account_id=request.account.pk)
    assignee = operators.filter(pk=int(raw)).first() if raw.isdigit() else None
    if assignee is None:
        escalation_get(account=request.account, pk=pk)  # 404 before 400 for another account's
        return _action_error(request, ValidationError("Choose an operator to assign it to."), status=400)
    return _act(request, pk, lambda e: escalation_assign(escalation=e, user=request.user, assignee=assignee))


@require_POST
@operator_required
def reply(request: HttpRequest, pk: int) -> HttpResponse:
    content = request.POST.get("content", "")
    return _act(
        request,
        pk,
        lambda e: escalation_reply(escalation=e, user=request.user, content=content),
        clear_forms=True,
    )


@require_POST
@operator_required
def resolve(request: HttpRequest, pk: int) -> HttpResponse:
    note = request.POST.get("note", "")
    return _act(
        request,
        pk,
        lambda e: escalation_resolve(escalation=e, user=request.user, note=note),
        clear_forms=True,
    )


@require_POST
@operator_required
def promote(request: HttpRequest, pk: int) -> HttpResponse:
    # The operator's edits of the drafted problem and fix; absent fields keep the draft.
    problem, fix = request.POST.get("problem"), request.POST.get("fix")
    return _act(
        request, pk, lambda e: pattern_promote(escalation=e, user=request.user, problem=problem, fix=fix)
    )


@require_POST
@operator_required
def escalate_by_hand(request: HttpRequest) -> HttpResponse:
    raw_conversation, raw_priority = request.POST.get("conversation", ""), request.POST.get("priority", "")
    try:
        if not raw_conversation.isdigit():
            raise ValidationError({"conversation": "Give the conversation's number."})
        escalation = escalation_escalate_by_hand(
            account=request.account,
            user=request.user,
            conversation_id=int(raw_conversation),
            reason=request.POST.get("reason", ""),
            priority=int(raw_priority) if raw_priority.isdigit() else None,
        )
    except EscalationConflict as error:
        return _action_error(request, error, status=409)
    except ValidationError as error:
        return _action_error(request, error, status=400)
    if request.headers.get("HX-Request"):
        return HttpResponse(status=201, headers={"HX-Redirect": escalation_url(escalation)})
    return redirect("escalations:detail", pk=escalation.pk)


def escalation_url(escalation: Escalation) -> str:
    return reverse("escalations:detail", args=[escalation.pk])


# --- learned patterns ----------------------------------------------------------------------------


@require_GET
@operator_required
def patterns(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "escalations/patterns.html",
        {"patterns": patterns_for_account(account=request.account), "is_admin": request.membership.is_admin},
    )


def _pattern_action(request: HttpRequest, pk: int, action: Callable) -> HttpResponse:
    pattern = pattern_get(account=request.account, pk=pk)
    if not request.membership.is_admin:
        return render(request, "escalations/forbidden.html", status=403)
    try:
        action(pattern=pattern, user=request.user)
    except ValidationError as error:
        return _action_error(request, error, status=400)
    if not request.headers.get("HX-Request"):
        return redirect("escalations:patterns")
    return render(request, "escalations/_pattern_row.html", {"pattern": pattern, "is_admin": True})


@require_POST
@operator_required
def pattern_approve_view(request: HttpRequest, pk: int) -> HttpResponse:
    # Approved as the admin last worded it in the row's form, when it was sent with the approval.
    problem, fix = request.POST.get("problem"), request.POST.get("fix")

    def approve(*, pattern: LearnedPattern, user) -> LearnedPattern:
        return pattern_approve(pattern=pattern, user=user, problem=problem, fix=fix)

    return _pattern_action(request, pk, approve)


@require_POST
@operator_required
def pattern_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    problem, fix = request.POST.get("problem", ""), request.POST.get("fix", "")

    def edit(*, pattern: LearnedPattern, user) -> LearnedPattern:
        return pattern_edit(pattern=pattern, user=user, problem=problem, fix=fix)

    return _pattern_action(request, pk, edit)


@require_POST
@operator_required
def pattern_retire_view(request: HttpRequest, pk: int) -> HttpResponse:
    return _pattern_action(request, pk, pattern_retire)
