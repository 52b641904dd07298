"""In Chromium, the error pages and the pages outside the app's layout (admin, API docs, /healthz)
load everything they ask for: stylesheet, scripts and icon, with no failed request, no response
of 400 or more besides the page's own status, and no console error."""

from __future__ import annotations

import pytest
from playwright.sync_api import sync_playwright

from tests.support.live import session_cookies

pytestmark = [pytest.mark.stack, pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]


@pytest.fixture
def member_cookies(member) -> dict[str, str]:
    """Made before the browser starts: Playwright's sync API runs an event loop in this thread."""
    return session_cookies(member)


def test_error_pages_and_outside_pages_load_cleanly_with_their_icon(stack, member_cookies):
    problems: list[str] = []
    pages = {
        "/no/such/page/": 404, "/analytics/": 403, "/admin/login/": 200, "/api/docs": 200, "/healthz": 200,
    }  # fmt: skip
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        context = browser.new_context()
        context.add_cookies(
            [{"name": k, "value": v, "url": stack.base_url} for k, v in member_cookies.items()]
        )
        page = context.new_page()
        page.set_default_timeout(30_000)
        current = {"url": ""}
        # The page's own 403/404 shows as a console error about that response: only others count.
        page.on(
            "console",
            lambda m: m.type == "error" and "status of 40" not in m.text and problems.append(m.text),
        )
        page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
        page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url} {r.failure}"))
        page.on(
            "response",
            lambda r: r.status >= 400 and r.url != current["url"] and problems.append(f"{r.status} {r.url}"),
        )
        for path, status in pages.items():
            current["url"] = f"{stack.base_url}{path}"
            response = page.goto(current["url"])
            page.wait_for_load_state("networkidle")
            # /healthz is 503 while the worker is still warming up; it is JSON either way.
            assert response.status == status or (path == "/healthz" and response.status == 503), path
            if path.startswith("/no/") or path == "/analytics/":
                assert page.locator("header.topbar").count() == 1, path
                assert page.evaluate("getComputedStyle(document.body).margin") == "0px", path  # app.css
            icon = page.evaluate(
                "document.querySelector('link[rel=icon]')?.href || new URL('/favicon.ico', location).href"
            )
            loaded = page.request.get(icon)
            assert loaded.ok and loaded.headers["content-type"].startswith("image/svg+xml"), (path, icon)
        browser.close()
    assert problems == []
