"""In Chromium, the error pages and the pages outside the app's layout (admin, API docs, /healthz)
load everything they ask for: stylesheet, scripts and icon, with no failed request, no response
of 400 or more besides the page's own status, and no console error."""

from __future__ import annotations

import pytest

from tests.support.live import session_cookies

pytestmark = [pytest.mark.stack, pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def member_cookies(member) -> dict[str, str]:
    """Made before the browser starts: Playwright's sync API runs an event loop in this thread."""
    return session_cookies(member)


def test_error_pages_and_outside_pages_load_cleanly_with_their_icon(
    stack, member_cookies, browser_watch, new_page
):
    pages = {
        "/no/such/page/": 404, "/analytics/": 403, "/admin/login/": 200, "/api/docs": 200, "/healthz": 200,
    }  # fmt: skip
    # The page's own 403/404 is the point: only those, and any other failure fails the test.
    browser_watch.allow(404, f"{stack.base_url}/no/such/page/")
    browser_watch.allow(403, f"{stack.base_url}/analytics/")
    # /healthz is 503 while the worker is still warming up; it is JSON either way.
    browser_watch.allow(503, f"{stack.base_url}/healthz")
    page = new_page(
        cookies=[{"name": k, "value": v, "url": stack.base_url} for k, v in member_cookies.items()]
    )
    for path, status in pages.items():
        response = page.goto(f"{stack.base_url}{path}")
        page.wait_for_load_state("networkidle")
        assert response.status == status or (path == "/healthz" and response.status == 503), path
        if path.startswith("/no/") or path == "/analytics/":
            assert page.locator("header.topbar").count() == 1, path
            assert page.evaluate("getComputedStyle(document.body).margin") == "0px", path  # app.css
        icon = page.evaluate(
            "document.querySelector('link[rel=icon]')?.href || new URL('/favicon.ico', location).href"
        )
        loaded = page.request.get(icon)
        assert loaded.ok and loaded.headers["content-type"].startswith("image/svg+xml"), (path, icon)
