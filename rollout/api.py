"""JSON API of the rollout app, mounted under /api/.

Flags as they apply in one account. Members of the account may read them; only the account's
admins (and staff) may change them (403 for others), always with a reason. Anyone who is not a
member gets 404, whether or not the account exists.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest
from ninja import Router, Status
from ninja.errors import HttpError

from accounts.models import Account
from agents.api_selectors import membership_for_account_slug
from rollout.gates import gates_evaluate
from rollout.models import Flag, FlagChange
from rollout.schemas import (
    FlagDetailOut,
    FlagOut,
    FlagPatchIn,
    GatesRefusedOut,
    OverrideIn,
    RollbackIn,
    UserDecisionOut,
)
from rollout.selectors import (
    cohort_for_account,
    flag_for_account,
    flag_get,
    flag_history,
    flags_list,
    member_by_username,
    rollout_can_manage,
    user_lookup,
)
from rollout.services import GatesRefused, flag_override_set, flag_rollback, flag_update

router = Router(tags=["rollout"])


def _account(request: HttpRequest, slug: str, *, manage: bool = False) -> Account:
    membership = membership_for_account_slug(user=request.user, account_slug=slug)
    account = membership.account if membership is not None else None
    if account is None and request.user.is_staff:
        account = Account.objects.filter(slug=slug).first()
    if account is None:
        raise Http404
    if manage and not rollout_can_manage(user=request.user, membership=membership):
        raise HttpError(403, "Only the account's admins and staff may change or inspect its rollout.")
    return account


def _flag(key: str) -> Flag:
    flag = flag_get(key=key)
    if flag is None:
        raise HttpError(404, f"No flag '{key}'.")
    return flag


def _flag_out(flag: Flag, account: Account) -> dict:
    view = flag_for_account(flag=flag, account=account)
    return {
        "key": flag.key,
        "description": flag.description,
        "enabled": view.enabled,
        "percentage": float(view.percentage),
        "phase": view.phase,
        "account_override": view.account_override,
    }


def _change_out(change: FlagChange) -> dict:
    return {
        "created_at": change.created_at,
        "actor": change.actor_name,
        "source": change.source,
        "action": change.action,
        "reason": change.reason,
        "before": change.before,
        "after": change.after,
        "scope": "account" if change.account_id else "global",
        "gates_overridden": change.gates_overridden,
    }


def _detail_out(flag: Flag, account: Account) -> dict:
    cohort = cohort_for_account(flag=flag, account=account)
    return _flag_out(flag, account) | {
        "cohort": cohort.__dict__,
        "gates": [r.as_dict() for r in gates_evaluate(account=account, config=flag.gates)],
        "history": [_change_out(c) for c in flag_history(flag=flag, account=account)],
    }


@router.get("/accounts/{account}/flags", response=list[FlagOut], summary="List the flags as they apply here")
def flags_index(request: HttpRequest, account: str):
    acct = _account(request, account)
    return [_flag_out(flag, acct) for flag in flags_list()]


@router.get(
    "/accounts/{account}/flags/{key}",
    response=FlagDetailOut,
    summary="A flag with its cohort sizes, gate status and history",
)
def flag_detail(request: HttpRequest, account: str, key: str):
    acct = _account(request, account, manage=True)
    return _detail_out(_flag(key), acct)


@router.patch(
    "/accounts/{account}/flags/{key}",
    response={200: FlagDetailOut, 409: GatesRefusedOut},
    summary="Change the phase, percentage or kill switch for this account (a reason is required)",
)
def flag_patch(request: HttpRequest, account: str, key: str, payload: FlagPatchIn):
    acct = _account(request, account, manage=True)
    flag = _flag(key)
    changes = payload.dict(exclude={"reason", "override_gates"}, exclude_none=True)
    try:
        flag_update(
            flag=flag,
            account=acct,
            actor=request.user,
            reason=payload.reason,
            source=FlagChange.Source.API,
            override_gates=payload.override_gates,
            **changes,
        )
    except GatesRefused as refused:
        return Status(
            409,
            {
                "detail": "Refused: a gate failed. " + " ".join(refused.messages),
                "gates": [r.as_dict() for r in refused.results],
            },
        )
    return _detail_out(flag, acct)


@router.post(
    "/accounts/{account}/flags/{key}/rollback",
    response=FlagDetailOut,
    summary="Roll back in one step: phase off, percentage 0",
)
def flag_rollback_api(request: HttpRequest, account: str, key: str, payload: RollbackIn):
    acct = _account(request, account, manage=True)
    flag = _flag(key)
    flag_rollback(
        flag=flag, account=acct, actor=request.user, reason=payload.reason, source=FlagChange.Source.API
    )
    return _detail_out(flag, acct)


def _member(acct: Account, username: str):
    user = member_by_username(account=acct, username=username)
    if user is None:
        raise HttpError(404, f"No member '{username}' in this account.")
    return user


@router.get(
    "/accounts/{account}/flags/{key}/users/{username}",
    response=UserDecisionOut,
    summary="Which arm a member gets, and why",
)
def flag_user_decision(request: HttpRequest, account: str, key: str, username: str):
    acct = _account(request, account, manage=True)
    lookup = user_lookup(flag=_flag(key), account=acct, user=_member(acct, username))
    decision = lookup.decision
    return {
        "username": lookup.user.get_username(),
        "arm": lookup.arm,
        "enabled": decision.enabled,
        "shadow": decision.shadow,
        "reason": decision.reason,
        "explanation": decision.explanation,
        "bucket": decision.bucket,
    }


@router.put(
    "/accounts/{account}/flags/{key}/users/{username}",
    response=UserDecisionOut,
    summary="Set (true/false) or remove (null) a member's override",
)
def flag_user_override(request: HttpRequest, account: str, key: str, username: str, payload: OverrideIn):
    acct = _account(request, account, manage=True)
    flag = _flag(key)
    flag_override_set(
        flag=flag,
        account=acct,
        user=_member(acct, username),
        enabled=payload.enabled,
        actor=request.user,
        reason=payload.reason,
        source=FlagChange.Source.API,
    )
    return flag_user_decision(request, account, key, username)
