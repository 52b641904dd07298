"""Answers for a request that failed because a dependency is down: the database or Redis.

While PostgreSQL is unreachable or Redis restarts, a request can fail anywhere (the session is read
by middleware, a view saves a message, a task is queued after the commit). Django would answer a
plain 500. Here that becomes a 503 that names the missing component and says to try again shortly
(``Retry-After``): JSON for the API and ``/healthz``, a standalone styled page otherwise (it reads
no session and no database, so it renders while both are gone). Any other error gets the styled
500 page, never a traceback.

``server_error`` is the project's ``handler500`` (``config/urls.py``), so it answers wherever the
failure happened, middleware included. Django skips ``handler500`` when ``DEBUG`` is on (it renders
its debug page instead), so ``DependencyOutageMiddleware`` gives the same 503 there: an outage is
still an outage while developing, and the page must read the same as in production.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any

from django.core.signals import got_request_exception
from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5
MESSAGES = {
    "database": "The database is not reachable at the moment.",
    "redis": "The message queue (Redis) is not reachable at the moment.",
}


def outage_of(error: BaseException | None) -> str | None:
    """'database' or 'redis' when ``error`` (or what caused it) is a lost connection to one."""
    import kombu.exceptions
    import redis

    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, (OperationalError, InterfaceError)):
            return "database"
        if isinstance(error, DatabaseError) and "connection" in str(error).lower():
            return "database"
        if isinstance(error, (redis.ConnectionError, redis.TimeoutError, kombu.exceptions.OperationalError)):
            return "redis"
        error = error.__cause__ or error.__context__
    return None


def _wants_json(request: HttpRequest) -> bool:
    path = request.path
    return (
        path.startswith("/api/")
        or path.startswith("/healthz")
        or "application/json" in request.headers.get("Accept", "")
    )


def unavailable_response(request: HttpRequest, component: str) -> HttpResponse:
    """503 naming ``component``, in the format the caller reads."""
    detail = f"{MESSAGES[component]} Nothing was half-saved; try again in a moment."
    if _wants_json(request):
        response: HttpResponse = JsonResponse(
            {"status": "unavailable", "failing": [component], "detail": detail}, status=503
        )
    else:
        page = loader.get_template("503.html").render({"component": component, "detail": detail})
        response = HttpResponse(page, status=503)
        if request.headers.get("HX-Request"):
            # htmx swaps it into the composer's error slot, like any refusal of a message.
            response = HttpResponse(detail, status=503, content_type="text/plain; charset=utf-8")
            response["HX-Retarget"] = "#composer-error"
            response["HX-Reswap"] = "innerHTML"
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def server_error(request: HttpRequest) -> HttpResponse:
    """``handler500``: a dependency outage is a 503 that names it; anything else the 500 page."""
    component = outage_of(sys.exc_info()[1])
    if component is not None:
        logger.warning("answered 503: %s unavailable (%s)", component, request.path)
        return unavailable_response(request, component)
    if _wants_json(request):
        return JsonResponse({"detail": "Internal server error."}, status=500)
    return HttpResponse(loader.get_template("500.html").render(), status=500)


# Set on the request by ``_note_outage`` when a request's failure was a lost connection.
OUTAGE_ATTRIBUTE = "_dependency_outage"


def _note_outage(sender: Any, request: HttpRequest | None = None, **kwargs: Any) -> None:
    """Remember which dependency an uncaught exception lost, while the exception is still at hand.

    Django turns an exception into a response inside every middleware layer, so no middleware
    sees it; ``got_request_exception`` is sent from within that ``except`` block, with the request.
    """
    component = outage_of(sys.exc_info()[1])
    if request is not None and component is not None:
        setattr(request, OUTAGE_ATTRIBUTE, component)


got_request_exception.connect(_note_outage, dispatch_uid="config.unavailable.note_outage")


class DependencyOutageMiddleware:
    """Outermost: a 500 caused by a database or Redis outage becomes the styled 503, DEBUG or not.

    With ``DEBUG`` off ``server_error`` has already answered 503 and this changes nothing; with it
    on, Django's debug page (500) is replaced, for failures in views and in middleware alike.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        component = getattr(request, OUTAGE_ATTRIBUTE, None)
        if response.status_code == 500 and component is not None:
            logger.warning("answered 503: %s unavailable (%s)", component, request.path)
            return unavailable_response(request, component)
        return response
