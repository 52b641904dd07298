"""Analytics pages: one per section, over a window chosen on the page (htmx swaps the section body
when it changes), CSV downloads of every table, a conversation's hand-off trail, and alerts.
Operators and admins of the current account see them; rules are changed by admins."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.text import slugify
from django.views.decorators.http import require_GET, require_POST

from accounts.csv_export import csv_write
from accounts.decorators import account_required
from analytics.forms import AlertRuleForm
from analytics.sections import SECTIONS, section_get
from analytics.selectors.alerts import (
    alert_get,
    alert_rule_get,
    alert_rules_for_account,
    alerts_firing_unacknowledged,
    alerts_recent,
)
from analytics.selectors.handoffs import conversation_trail
from analytics.services import (
    alert_acknowledge,
    alert_rule_silence,
    alert_rule_update,
    alert_rules_install_defaults,
)
from analytics.windows import PRESETS, Window, window_parse


def operator_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @account_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.membership.is_operator:
            raise PermissionDenied("Analytics are for the account's operators and admins.")
        return view(request, *args, **kwargs)

    return wrapper


def _window(request: HttpRequest) -> Window:
    return window_parse(
        window=request.GET.get("window"), start=request.GET.get("start"), end=request.GET.get("end")
    )


def _page_context(request: HttpRequest, section: str) -> dict:
    return {
        "sections": SECTIONS.values(),
        "section_slug": section,
        "presets": list(PRESETS),
        "firing": list(alerts_firing_unacknowledged(account=request.account)),
        "is_admin": request.membership.is_admin,
    }


@require_GET
@operator_required
def section_page(request: HttpRequest, section: str = "overview") -> HttpResponse:
    found = section_get(section)
    if found is None:
        raise Http404("No such analytics section.")
    partial = request.headers.get("HX-Request") == "true" and not request.headers.get(
        "HX-History-Restore-Request"
    )
    context = _page_context(request, section) | {"section": found, "query": request.GET}
    try:
        window = _window(request)
    except ValidationError as error:
        context["window_error"] = " ".join(error.messages)
        template = "analytics/_window_error.html" if partial else "analytics/page.html"
        return render(request, template, context, status=400)
    figures = found.compute(account=request.account, window=window)
    context |= {
        "window": window,
        "figures": figures,
        "charts": found.charts(figures),
        "window_qs": urlencode(window.query()),
    }
    template = f"analytics/_{found.slug}.html" if partial else "analytics/page.html"
    return render(request, template, context)


@require_GET
@operator_required
def section_csv(request: HttpRequest, section: str, table: str) -> HttpResponse:
    found = section_get(section)
    if found is None or table not in found.tables:
        raise Http404("No such table.")
    try:
        window = _window(request)
    except ValidationError as error:
        return HttpResponse(" ".join(error.messages), status=400, content_type="text/plain")
    figures = found.compute(account=request.account, window=window)
    spec = found.tables[table]
    name = f"{request.account.slug}-{section}-{table}-{window.start:%Y%m%d%H%M}-{window.end:%Y%m%d%H%M}.csv"
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{slugify(name[:-4])}.csv"'
    # Cells are neutralised there: a message or title starting with "=" is not run as a formula.
    csv_write(response, headers=spec.headers, rows=spec.rows(figures))
    return response


@require_GET
@operator_required
def conversation_handoffs(request: HttpRequest, pk: int) -> HttpResponse:
    conversation, steps = conversation_trail(account=request.account, conversation_id=pk)
    context = _page_context(request, "handoffs") | {"conversation": conversation, "steps": steps}
    return render(request, "analytics/conversation.html", context)


@require_GET
@operator_required
def alerts_page(request: HttpRequest) -> HttpResponse:
    rules = list(alert_rules_for_account(account=request.account))
    context = _page_context(request, "alerts") | {
        "rules": [(rule, AlertRuleForm(instance=rule, prefix=f"rule{rule.pk}")) for rule in rules],
        "alerts": alerts_recent(account=request.account),
        "silence_choices": SILENCE_CHOICES,
        "now": timezone.now(),
    }
    return render(request, "analytics/alerts.html", context)


# The silence lengths the alerts page offers (minutes, label); the API takes any up to a week.
SILENCE_CHOICES = [(30, "30 minutes"), (60, "1 hour"), (240, "4 hours"), (1440, "1 day"), (10080, "1 week")]


@require_POST
@operator_required
def alert_acknowledge_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Any operator or admin of the account may say they are on it."""
    alert = alert_get(account=request.account, pk=pk)
    if alert is None:
        raise Http404("No such alert.")
    alert_acknowledge(alert=alert, user=request.user, note=request.POST.get("note", ""))
    messages.success(request, f"Acknowledged: {alert.message}.")
    return redirect("analytics:alerts")


@require_POST
@operator_required
def alert_rule_silence_view(request: HttpRequest, pk: int) -> HttpResponse:
    _require_admin(request)
    rule = alert_rule_get(account=request.account, pk=pk)
    if rule is None:
        raise Http404("No such rule.")
    raw = request.POST.get("minutes", "")
    try:
        alert_rule_silence(
            rule=rule,
            user=request.user,
            minutes=int(raw) if raw.isdigit() else -1,
            reason=request.POST.get("reason", ""),
        )
    except ValidationError as error:
        text = " ".join(m for ms in error.message_dict.values() for m in ms)
        return HttpResponse(f"The rule was not silenced. {text}", status=400, content_type="text/plain")
    if rule.silenced_until:
        messages.success(
            request, f"Silenced until {rule.silenced_until:%Y-%m-%d %H:%M} UTC: {rule.description}."
        )
    else:
        messages.success(request, f"Silence ended: {rule.description}.")
    return redirect("analytics:alerts")


def _require_admin(request: HttpRequest) -> None:
    if not request.membership.is_admin:
        raise PermissionDenied("Only the account's admins may change alert rules.")


@require_POST
@operator_required
def alert_rules_defaults(request: HttpRequest) -> HttpResponse:
    _require_admin(request)
    added = alert_rules_install_defaults(account=request.account)
    messages.success(request, f"Added {added} default rule{'s' if added != 1 else ''}.")
    return redirect("analytics:alerts")


@require_POST
@operator_required
def alert_rule_edit(request: HttpRequest, pk: int) -> HttpResponse:
    _require_admin(request)
    rule = alert_rule_get(account=request.account, pk=pk)
    if rule is None:
        raise Http404("No such rule.")
    form = AlertRuleForm(request.POST, instance=rule, prefix=f"rule{rule.pk}")
    if not form.is_valid():
        errors = "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in form.errors.items())
        return HttpResponse(f"The rule was not changed. {errors}", status=400, content_type="text/plain")
    alert_rule_update(rule=rule, data=form.cleaned_data)
    messages.success(request, f"Saved: {rule.description}.")
    return redirect("analytics:alerts")
