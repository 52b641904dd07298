import hmac

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from health.checks import run_checks


def _may_see_details(request: HttpRequest) -> bool:
    """Staff with a session, or a monitor presenting HEALTHZ_TOKEN (header or ``?token=``)."""
    if request.user.is_authenticated and request.user.is_staff:
        return True
    expected = settings.HEALTHZ_TOKEN
    if not expected:
        return False
    scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        presented = request.GET.get("token", "")
    return hmac.compare_digest(presented.strip().encode(), expected.encode())


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Public liveness (status and what is down); the figures behind it only to staff or a token."""
    report = run_checks(detailed=_may_see_details(request))
    return JsonResponse(report, status=200 if report["status"] == "ok" else 503)
