from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def account_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Login required, and the user must belong to an account to act in."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.account is None:
            return render(request, "accounts/no_account.html", status=403)
        return view(request, *args, **kwargs)

    return wrapper
