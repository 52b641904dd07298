from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.contrib.sessions.backends.base import SessionBase
from django.http import Http404

from accounts.middleware import SESSION_ACCOUNT_KEY
from accounts.models import Account, Membership
from accounts.selectors import memberships_for_user


def account_switch(*, user: AbstractBaseUser, session: SessionBase, slug: str) -> Account:
    """Make ``slug`` the user's current account; 404 if they do not belong to it."""
    membership = memberships_for_user(user=user).filter(account__slug=slug).first()
    if membership is None:
        raise Http404("No such account.")
    session[SESSION_ACCOUNT_KEY] = membership.account_id
    return membership.account


def membership_ensure(
    *, user: AbstractBaseUser, account: Account, role: str = Membership.Role.MEMBER
) -> Membership:
    membership, _ = Membership.objects.update_or_create(user=user, account=account, defaults={"role": role})
    return membership
