"""Reads for rollout: flags as an account sees them, cohorts, history. (The shadow comparisons
are conversations' rows, shown on the flag page through ``rollout.pages``.)"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Q, QuerySet

from accounts.models import Account, Membership
from rollout.arms import Arm
from rollout.decision import MULTI_AGENT_FLAG, Decision, decide, has_override_on
from rollout.models import AccountFlag, Flag, FlagChange, FlagOverride


def rollout_can_manage(*, user: AbstractBaseUser | AnonymousUser, membership: Membership | None) -> bool:
    """Account admins and staff may see the Rollout page and change flags."""
    if not user.is_authenticated:
        return False
    return bool(user.is_staff or (membership is not None and membership.is_admin))


def multi_agent_api_allowed(*, user: AbstractBaseUser, membership: Membership) -> bool:
    """``POST /api/chat/multi-agent/message`` always uses the multi-agent system, so while it
    is being rolled out only account admins and users with an 'on' override may use it."""
    if membership.is_admin:
        return True
    return has_override_on(MULTI_AGENT_FLAG, user_id=user.pk, account_id=membership.account_id)


def flags_list() -> QuerySet[Flag]:
    return Flag.objects.order_by("key")


def flag_get(*, key: str) -> Flag | None:
    return Flag.objects.filter(key=key).first()


def account_flag_get(*, flag: Flag, account: Account) -> AccountFlag | None:
    return AccountFlag.objects.filter(flag=flag, account=account).first()


@dataclass(frozen=True)
class FlagView:
    """A flag as it applies in one account."""

    flag: Flag
    enabled: bool
    percentage: str
    phase: str
    account_override: bool

    @property
    def key(self) -> str:
        return self.flag.key


def flag_for_account(*, flag: Flag, account: Account) -> FlagView:
    setting = account_flag_get(flag=flag, account=account)
    if setting is None:
        return FlagView(flag, flag.enabled, f"{flag.percentage}", flag.phase, False)
    return FlagView(
        flag,
        flag.enabled if setting.enabled is None else setting.enabled,
        f"{flag.percentage if setting.percentage is None else setting.percentage}",
        setting.phase or flag.phase,
        True,
    )


@dataclass(frozen=True)
class Cohort:
    members: int
    inside: int  # served by the flagged system (overrides included)
    shadowed: int  # served legacy, answered by the flagged system in the background
    outside: int


def cohort_for_account(*, flag: Flag, account: Account) -> Cohort:
    """How many of the account's members are in and out, decided exactly as requests are."""
    user_ids = list(Membership.objects.filter(account=account).values_list("user_id", flat=True))
    inside = shadowed = 0
    for user_id in user_ids:
        decision = decide(flag.key, user_id=user_id, account_id=account.pk)
        inside += decision.enabled
        shadowed += decision.shadow
    return Cohort(
        members=len(user_ids), inside=inside, shadowed=shadowed, outside=len(user_ids) - inside - shadowed
    )


def flag_history(*, flag: Flag, account: Account, limit: int = 50) -> QuerySet[FlagChange]:
    """The account's own changes and the global ones (which apply to it too)."""
    return (
        FlagChange.objects.filter(Q(account=account) | Q(account__isnull=True), flag=flag)
        .select_related("actor", "account")
        .order_by("-created_at", "-id")[:limit]
    )


def flag_overrides_for_account(*, flag: Flag, account: Account) -> QuerySet[FlagOverride]:
    return (
        FlagOverride.objects.filter(flag=flag, account=account)
        .select_related("user")
        .order_by("user__username")
    )


def member_by_username(*, account: Account, username: str) -> AbstractBaseUser | None:
    """A member of the account, or None (for anyone else, whoever they are)."""
    return (
        get_user_model()
        .objects.filter(memberships__account=account, username=(username or "").strip())
        .first()
    )


@dataclass(frozen=True)
class UserLookup:
    user: AbstractBaseUser
    decision: Decision
    arm: str


def user_lookup(*, flag: Flag, account: Account, user: AbstractBaseUser) -> UserLookup:
    decision = decide(flag.key, user_id=user.pk, account_id=account.pk)
    arm = Arm.MULTI_AGENT if decision.enabled else Arm.LEGACY
    return UserLookup(user=user, decision=decision, arm=arm)
