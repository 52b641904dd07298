from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from accounts.selectors import membership_current

SESSION_ACCOUNT_KEY = "current_account_id"


class CurrentAccountMiddleware:
    """Sets ``request.membership`` and ``request.account`` (both None for anonymous
    users and users who belong to no account)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        membership = None
        if request.user.is_authenticated:
            membership = membership_current(
                user=request.user, account_id=request.session.get(SESSION_ACCOUNT_KEY)
            )
        request.membership = membership
        request.account = membership.account if membership else None
        return self.get_response(request)
