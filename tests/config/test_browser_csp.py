"""Every page family works under the Content-Security-Policy: no script, style or socket is
refused, and nothing logs an error. A CSP violation shows in Chromium as a console error and
a ``securitypolicyviolation`` event, so either fails the test."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from accounts.models import Membership
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.stack, pytest.mark.browser, pytest.mark.django_db(transaction=True)]

RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__cspViolations.push(e.violatedDirective + " " + (e.blockedURI || "inline"));
});
"""


@pytest.fixture
def browser_page(new_page):
    """A watched page (tests/support/browser.py) that also records CSP violation events."""
    return new_page(viewport={"width": 1280, "height": 900}, init_script=RECORD_VIOLATIONS)


def violations(page) -> list[str]:
    return page.evaluate("window.__cspViolations || []")


@pytest.fixture
def admin(make_user, account, make_account):
    user = make_user(account, role=Membership.Role.ADMIN, username="csp-admin")
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    Membership.objects.create(user=user, account=make_account("second", name="Second"))
    return user


def test_pages_work_under_the_csp(stack, admin, browser_page):
    page = browser_page
    seen: list[str] = []

    def visit(path: str) -> None:
        page.goto(f"{stack.base_url}{path}")
        page.wait_for_load_state("networkidle")
        seen.extend(f"{path}: {v}" for v in violations(page))

    visit("/accounts/login/")
    page.fill('input[name="username"]', admin.username)
    page.fill('input[name="password"]', PASSWORD)
    page.click('button[type="submit"]')
    expect(page).to_have_url(re.compile(r"/chat/$"))

    # Chat: send a message and watch the reply stream in over the socket.
    page.fill('textarea[name="message"]', "count=5 delay=0.01")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/chat/\d+/$"))
    expect(page.locator('[data-role="assistant"]')).to_have_attribute("data-status", "complete")
    seen.extend(f"chat: {v}" for v in violations(page))

    # Analytics: charts drawn, and a preset window redraws through htmx without eval.
    visit("/analytics/overview/?window=24h")
    page.select_option("#window-select", "7d")
    expect(page).to_have_url(re.compile(r"window=7d"))
    page.wait_for_load_state("networkidle")
    seen.extend(f"analytics window: {v}" for v in violations(page))

    for path in ("/runs/", "/runs/new/", "/escalations/", "/rollout/", "/api/docs"):
        visit(path)

    # The account switcher submits on change (was an inline onchange handler).
    visit("/chat/")
    page.select_option("#account-select", "second")
    expect(page.locator(".flash")).to_contain_text("You are now working in Second")

    assert not seen, seen
