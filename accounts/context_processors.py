from django.http import HttpRequest

from accounts.selectors import memberships_for_user


def current_account(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "current_account": getattr(request, "account", None),
        "current_membership": getattr(request, "membership", None),
        "account_memberships": memberships_for_user(user=user),
    }
