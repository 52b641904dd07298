"""The operator Rollout page: a flag as it applies in the current account, its cohort, gates,
shadow comparisons and history, and the forms that change it (each needs a reason)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from accounts.decorators import account_required
from rollout.forms import FlagChangeForm, OverrideForm, RollbackForm
from rollout.gates import gates_evaluate
from rollout.models import Flag, FlagChange
from rollout.pages import flag_page_sections_render
from rollout.selectors import (
    cohort_for_account,
    flag_for_account,
    flag_get,
    flag_history,
    flag_overrides_for_account,
    flags_list,
    member_by_username,
    rollout_can_manage,
    user_lookup,
)
from rollout.services import GatesRefused, flag_override_set, flag_rollback, flag_update


def rollout_manager_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @account_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not rollout_can_manage(user=request.user, membership=request.membership):
            return render(request, "rollout/forbidden.html", status=403)
        return view(request, *args, **kwargs)

    return wrapper


def _flag_or_404(key: str) -> Flag:
    flag = flag_get(key=key)
    if flag is None:
        raise Http404(f"No flag '{key}'.")
    return flag


def _render_detail(
    request: HttpRequest,
    flag: Flag,
    *,
    status: int = 200,
    change_form: Form | None = None,
    rollback_form: Form | None = None,
    override_form: Form | None = None,
    refused: GatesRefused | None = None,
) -> HttpResponse:
    account = request.account
    lookup = lookup_error = None
    username = request.GET.get("user", "").strip()
    if username:
        member = member_by_username(account=account, username=username)
        if member is None:
            lookup_error = f"No member '{username}' in {account.name}."
        else:
            lookup = user_lookup(flag=flag, account=account, user=member)
    context = {
        "flag": flag,
        "view": flag_for_account(flag=flag, account=account),
        "cohort": cohort_for_account(flag=flag, account=account),
        "gates": gates_evaluate(account=account, config=flag.gates),
        "history": flag_history(flag=flag, account=account),
        "overrides": flag_overrides_for_account(flag=flag, account=account),
        # What other apps show beside the flag (conversations: the shadow comparisons).
        "sections": flag_page_sections_render(account=account, flag=flag, request=request),
        "change_form": change_form or FlagChangeForm(),
        "rollback_form": rollback_form or RollbackForm(),
        "override_form": override_form or OverrideForm(),
        "refused": refused,
        "lookup": lookup,
        "lookup_username": username,
        "lookup_error": lookup_error,
        "flags": flags_list(),
    }
    return render(request, "rollout/flag.html", context, status=status)


@require_GET
@rollout_manager_required
def rollout_index(request: HttpRequest) -> HttpResponse:
    flags = list(flags_list())
    if len(flags) == 1:
        return redirect("rollout:flag", key=flags[0].key)
    views = [flag_for_account(flag=flag, account=request.account) for flag in flags]
    return render(request, "rollout/index.html", {"views": views})


@require_GET
@rollout_manager_required
def flag_detail(request: HttpRequest, key: str) -> HttpResponse:
    return _render_detail(request, _flag_or_404(key))


@require_POST
@rollout_manager_required
def flag_change(request: HttpRequest, key: str) -> HttpResponse:
    flag = _flag_or_404(key)
    form = FlagChangeForm(request.POST)
    if not form.is_valid():
        return _render_detail(request, flag, status=400, change_form=form)
    try:
        flag_update(
            flag=flag,
            account=request.account,
            actor=request.user,
            reason=form.cleaned_data["reason"],
            source=FlagChange.Source.PAGE,
            override_gates=form.cleaned_data["override_gates"],
            **form.changes(),
        )
    except GatesRefused as refused:
        return _render_detail(request, flag, status=409, change_form=form, refused=refused)
    except ValidationError as error:
        _add_errors(form, error)
        return _render_detail(request, flag, status=400, change_form=form)
    messages.success(request, f"{flag.key} changed for {request.account.name}.")
    return redirect("rollout:flag", key=flag.key)


@require_POST
@rollout_manager_required
def flag_rollback_view(request: HttpRequest, key: str) -> HttpResponse:
    flag = _flag_or_404(key)
    form = RollbackForm(request.POST)
    if not form.is_valid():
        return _render_detail(request, flag, status=400, rollback_form=form)
    flag_rollback(
        flag=flag,
        account=request.account,
        actor=request.user,
        reason=form.cleaned_data["reason"],
        source=FlagChange.Source.PAGE,
    )
    messages.success(request, f"Rolled back: nobody in {request.account.name} is served by {flag.key}.")
    return redirect("rollout:flag", key=flag.key)


@require_POST
@rollout_manager_required
def flag_override_view(request: HttpRequest, key: str) -> HttpResponse:
    flag = _flag_or_404(key)
    form = OverrideForm(request.POST)
    if not form.is_valid():
        return _render_detail(request, flag, status=400, override_form=form)
    member = member_by_username(account=request.account, username=form.cleaned_data["username"])
    if member is None:
        form.add_error("username", f"No member '{form.cleaned_data['username']}' in {request.account.name}.")
        return _render_detail(request, flag, status=400, override_form=form)
    flag_override_set(
        flag=flag,
        account=request.account,
        user=member,
        enabled=form.enabled(),
        actor=request.user,
        reason=form.cleaned_data["reason"],
        source=FlagChange.Source.PAGE,
    )
    messages.success(request, f"Override for {member.get_username()} saved.")
    return redirect("rollout:flag", key=flag.key)


def _add_errors(form: Form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, errors in error.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error.messages)
