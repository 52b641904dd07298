from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet

from accounts.models import Membership


def memberships_for_user(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[Membership]:
    if not user.is_authenticated:
        return Membership.objects.none()
    return Membership.objects.filter(user=user).select_related("account")


def membership_current(
    *, user: AbstractBaseUser | AnonymousUser, account_id: int | None
) -> Membership | None:
    """The membership the user is acting under: the chosen account if they still
    belong to it, else their first account, else None."""
    memberships = memberships_for_user(user=user)
    if account_id is not None:
        chosen = memberships.filter(account_id=account_id).first()
        if chosen is not None:
            return chosen
    return memberships.first()
