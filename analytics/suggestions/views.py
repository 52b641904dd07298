"""The suggestions page (the account's admins): open suggestions with their evidence, accept (opens
the prefilled edit), dismiss, and refresh now. Another account's suggestion is a 404."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from accounts.decorators import account_required
from analytics.sections import SECTIONS
from analytics.selectors.alerts import alerts_firing_unacknowledged
from analytics.suggestions.models import Suggestion
from analytics.suggestions.selectors import suggestion_get, suggestions_for_account, suggestions_last_refresh
from analytics.suggestions.services import suggestion_accept, suggestion_dismiss, suggestions_refresh_request


def _admin(request: HttpRequest) -> None:
    if not request.membership.is_admin:
        raise PermissionDenied("Suggestions are for the account's admins.")


def _suggestion(request: HttpRequest, pk: int) -> Suggestion:
    _admin(request)
    suggestion = suggestion_get(account=request.account, pk=pk)
    if suggestion is None:
        raise Http404("No such suggestion.")
    return suggestion


@require_GET
@account_required
def suggestions_page(request: HttpRequest) -> HttpResponse:
    _admin(request)
    account = request.account
    context = {
        "sections": SECTIONS.values(),
        "section_slug": "suggestions",
        "firing": list(alerts_firing_unacknowledged(account=account)),
        "is_admin": True,
        "open": list(suggestions_for_account(account=account, status=Suggestion.Status.OPEN)),
        "accepted": list(suggestions_for_account(account=account, status=Suggestion.Status.ACCEPTED)),
        "dismissed": list(suggestions_for_account(account=account, status=Suggestion.Status.DISMISSED)),
        "last_refresh": suggestions_last_refresh(account=account),
    }
    return render(request, "analytics/suggestions.html", context)


@require_POST
@account_required
def suggestion_accept_view(request: HttpRequest, pk: int) -> HttpResponse:
    suggestion = _suggestion(request, pk)
    return redirect(suggestion_accept(suggestion=suggestion, user=request.user))


@require_POST
@account_required
def suggestion_dismiss_view(request: HttpRequest, pk: int) -> HttpResponse:
    suggestion = _suggestion(request, pk)
    suggestion_dismiss(suggestion=suggestion, user=request.user)
    messages.success(
        request,
        f"Dismissed: {suggestion.title}. It comes back only if its questions grow well past "
        f"{suggestion.decided_count}.",
    )
    return redirect("analytics:suggestions")


@require_POST
@account_required
def suggestions_refresh_view(request: HttpRequest) -> HttpResponse:
    _admin(request)
    suggestions_refresh_request(account=request.account)
    messages.success(request, "Refreshing the suggestions on a worker: reload the page in a few seconds.")
    return redirect("analytics:suggestions")
