"""The agents pages: the account's agents, and one agent's tools, knowledge, routing and recent
replies. Read-only, for the account's operators and admins; the prompt and the rest of an
agent's internals only for admins, as in the API. Another account's agent is a 404."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.views.decorators.http import require_GET

from accounts.decorators import account_required
from agents.activity import agent_recent_replies
from agents.selectors import agent_internals, agent_summaries_for_account, agent_summary_for_account


def _operator(request: HttpRequest) -> None:
    if request.membership is None or not request.membership.is_operator:
        raise PermissionDenied("The agents pages are for the account's operators and admins.")


@require_GET
@account_required
def agents_list(request: HttpRequest) -> HttpResponse:
    _operator(request)
    context = {
        "summaries": agent_summaries_for_account(account=request.account),
        "shows_internals": request.membership.is_admin,
        "links_admin": request.membership.is_admin and request.user.is_staff,
    }
    return render(request, "agents/agents.html", context)


@require_GET
@account_required
def agent_detail(request: HttpRequest, agent: str) -> HttpResponse:
    _operator(request)
    summary = agent_summary_for_account(account=request.account, slug=agent)
    if summary is None:
        raise Http404("No such agent in this account.")
    is_admin = request.membership.is_admin
    context = {
        "summary": summary,
        "agent": summary.agent,
        # Never loaded for an operator, so the template cannot show it by mistake.
        "internals": agent_internals(agent=summary.agent) if is_admin else None,
        "replies": agent_recent_replies(agent=summary.agent, user=request.user, limit=20),
        "links_admin": is_admin and request.user.is_staff,
    }
    return render(request, "agents/agent_detail.html", context)


app_name = "agents"
urlpatterns = [
    path("", agents_list, name="list"),
    path("<slug:agent>/", agent_detail, name="detail"),
]
