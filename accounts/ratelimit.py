"""Rate limits that hold across processes: fixed-window counters in the Django cache (Redis).

One counter for every limit in the app. A key is ``rl:<scope>:<who>:<window number>``; the
first hit creates it with ``add`` and later hits ``incr`` it, both single Redis commands, so
every web process counts into the same number. Login attempts are limited by django-axes
(through the same Redis cache); :func:`login_lockout_response` is its lockout page.

Entry points raise :class:`RateLimited`; the API answers it as JSON and the views as a
message in the page, both with status 429 and ``Retry-After``.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render


class RateLimited(Exception):
    """Refused because a limit is spent; ``retry_after`` is whole seconds until it resets."""

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = max(1, retry_after)


@dataclass(frozen=True)
class Window:
    count: int  # hits in the current window, this one included when it was counted
    retry_after: int  # seconds until the window ends


def _key(scope: str, who: str, number: int) -> str:
    # Hashed so an attacker-chosen value (a header, a username) cannot grow or shape the key.
    digest = hashlib.sha256(who.encode()).hexdigest()[:32]
    return f"rl:{scope}:{digest}:{number}"


def _window(seconds: int) -> tuple[int, int]:
    now = time.time()
    number = int(now // seconds)
    return number, max(1, math.ceil((number + 1) * seconds - now))


def rate_limit_hit(*, scope: str, who: str, window_seconds: int) -> Window:
    """Count one hit for ``who`` in ``scope``'s current window and return the window's count."""
    number, retry_after = _window(window_seconds)
    key = _key(scope, who, number)
    # The key outlives its window by a little, so an incr right at the end still finds it.
    if cache.add(key, 1, timeout=window_seconds + 5):
        return Window(1, retry_after)
    try:
        return Window(cache.incr(key), retry_after)
    except ValueError:  # expired between add and incr: this hit opens a fresh count
        cache.add(key, 1, timeout=window_seconds + 5)
        return Window(1, retry_after)


def rate_limit_count(*, scope: str, who: str, window_seconds: int) -> Window:
    """The current window's count without counting a hit."""
    number, retry_after = _window(window_seconds)
    return Window(int(cache.get(_key(scope, who, number), 0)), retry_after)


# --- Chat sends per user ------------------------------------------------------------------


def chat_send_throttle(*, user: AbstractBaseUser) -> None:
    """Count a chat message ``user`` is about to send; raises :class:`RateLimited` over the limit.

    Called before anything is written, at every entry point that sends (the chat page, the API).
    """
    limit = settings.CHAT_SEND_RATE_LIMIT
    if limit <= 0:
        return
    window = rate_limit_hit(scope="chat", who=str(user.pk), window_seconds=settings.CHAT_SEND_RATE_WINDOW)
    if window.count > limit:
        raise RateLimited(
            f"You are sending messages too quickly: at most {limit} every "
            f"{_duration(settings.CHAT_SEND_RATE_WINDOW)}. Try again in {_duration(window.retry_after)}.",
            retry_after=window.retry_after,
        )


# --- API token failures per client address ------------------------------------------------


def client_ip(request: HttpRequest) -> str:
    """The client address as django-axes resolves it, so login and API limits agree."""
    from axes.helpers import get_client_ip_address

    return get_client_ip_address(request) or "unknown"


def api_auth_throttle_check(*, request: HttpRequest) -> None:
    """Raises :class:`RateLimited` while the client's address has spent its failed-token budget:
    then every token from it is refused, right or wrong, until the window ends."""
    limit = settings.API_AUTH_FAILURE_LIMIT
    if limit <= 0:
        return
    window = rate_limit_count(
        scope="api-auth", who=client_ip(request), window_seconds=settings.API_AUTH_FAILURE_WINDOW
    )
    if window.count >= limit:
        raise RateLimited(
            f"Too many failed authentication attempts from your address. "
            f"Try again in {_duration(window.retry_after)}.",
            retry_after=window.retry_after,
        )


def api_auth_failure_record(*, request: HttpRequest) -> None:
    if settings.API_AUTH_FAILURE_LIMIT > 0:
        rate_limit_hit(
            scope="api-auth", who=client_ip(request), window_seconds=settings.API_AUTH_FAILURE_WINDOW
        )


# --- Responses ---------------------------------------------------------------------------


def _duration(seconds: float) -> str:
    seconds = max(1, math.ceil(seconds))
    if seconds < 120:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = math.ceil(seconds / 60)
    return f"{minutes} minutes"


def _wants_json(request: HttpRequest) -> bool:
    return request.path.startswith("/api/") or "application/json" in request.headers.get("Accept", "")


def rate_limited_response(request: HttpRequest, error: RateLimited) -> HttpResponse:
    """429 with ``Retry-After``: JSON for the API, otherwise a page in the app's layout."""
    if _wants_json(request):
        response: HttpResponse = JsonResponse({"detail": error.message}, status=429)
    else:
        response = render(
            request,
            "accounts/rate_limited.html",
            {"message": error.message, "retry_after": error.retry_after},
            status=429,
        )
    response["Retry-After"] = str(error.retry_after)
    return response


def login_cool_off(request: HttpRequest | None = None) -> timedelta:
    """AXES_COOLOFF_TIME: read from settings on each call so tests can shorten it."""
    return timedelta(seconds=settings.LOGIN_LOCKOUT_SECONDS)


def login_lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: dict | None = None
) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: the lockout as a 429 page (or JSON) with ``Retry-After``.

    The cache handler restarts the cool-off with every attempt made while locked out, so the
    full cool-off is what is left."""
    seconds = settings.LOGIN_LOCKOUT_SECONDS
    error = RateLimited(
        "Too many failed login attempts. Logging in is locked for this account or address; "
        f"try again in {_duration(seconds)}.",
        retry_after=seconds,
    )
    return rate_limited_response(request, error)


class RateLimitMiddleware:
    """Answers a :class:`RateLimited` that a view did not handle itself, the same way everywhere."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, RateLimited):
            return rate_limited_response(request, exception)
        return None
