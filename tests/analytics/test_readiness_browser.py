"""A person in headless Chromium: an admin runs the readiness checks from the page and reads each
check's evidence, and the Rollout page shows an automatic rollback with its evidence chart, at a
phone's width (390) and a laptop's (1366), with nothing wider than the window. Screenshots go to
/tmp/shots/ for a person to look at."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from accounts.models import Membership
from tests.analytics.conftest import _agent
from tests.analytics.test_guarded_rollout import Stream, _run
from tests.e2e.test_browser_chat import _log_in

pytestmark = [pytest.mark.stack, pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SIZES = {"phone": {"width": 390, "height": 844}, "laptop": {"width": 1366, "height": 768}}
SHOTS = Path(os.environ.get("SCREENSHOT_DIR", "/tmp/shots"))


@pytest.fixture
def rolled_back(account, make_user):
    """An admin, two agents on the scripted model, and a canary rolled back by the guard (made
    before the browser starts: Playwright's sync API runs an event loop in this thread)."""
    from rollout.decision import MULTI_AGENT_FLAG
    from rollout.models import Phase
    from rollout.services import flag_create, flag_update

    admin = make_user(account, role=Membership.Role.ADMIN, username="rita")
    admin.email = "rita@example.com"
    admin.save(update_fields=["email"])
    for slug in ("alpha", "beta"):
        _agent(account, slug, "scripted/default")
    flag = flag_create(key=MULTI_AGENT_FLAG, actor=None, reason="tests", source="command", phase=Phase.SHADOW)
    flag_update(flag=flag, account=account, actor=admin, reason="canary", source="command",
                phase=Phase.CANARY, override_gates=True)  # fmt: skip
    looks = _run(Stream(account, admin, seed=7), account, minutes=15, multi_error=0.35)
    assert looks[-1].rolled_back
    return admin


def _fits(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_an_admin_runs_the_readiness_checks_and_sees_the_guarded_rollback(stack, rolled_back, new_page):
    SHOTS.mkdir(parents=True, exist_ok=True)
    for name, size in SIZES.items():
        page = new_page(viewport=size)
        _log_in(page, stack.base_url, rolled_back.username)
        page.goto(f"{stack.base_url}/readiness/")
        if name == "phone":
            expect(page.locator("#readiness-none")).to_be_visible()
        page.click("#readiness-run button")
        expect(page).to_have_url(re.compile(r"/readiness/$"))
        report = page.locator("#readiness-report")
        expect(report).to_be_visible()
        expect(page.locator("#readiness-status")).to_have_text(
            re.compile("PRODUCTION_READY|PARTIALLY_READY|NEEDS_ATTENTION|NOT_READY")
        )
        expect(page.locator('[data-check="models_reachable"]')).to_have_attribute("data-status", "pass")
        expect(page.locator('[data-check="evaluation_pass_rate"]')).to_contain_text("No evaluation run yet.")
        expect(page.locator('[data-check="worker"]')).to_have_attribute("data-status", "pass")
        expect(page.locator('[data-check="queue_depth"]')).to_have_attribute("data-status", "pass")
        expect(page.locator('a[href$=".md"]').first).to_be_visible()
        _fits(page)
        page.screenshot(path=str(SHOTS / f"readiness-{name}.png"), full_page=True)

        page.goto(f"{stack.base_url}/rollout/multi_agent/")
        card = page.locator("#guarded-rollout")
        expect(card.locator("#guard-rollback")).to_contain_text("Rolled back automatically")
        expect(card.locator('[data-metric="error_rate"]')).to_have_attribute("data-regression", "true")
        expect(card.locator('canvas[data-chart="chart_guard-data"]')).to_have_attribute(
            "data-drawn", re.compile(r"[1-9]")
        )
        _fits(page)
        card.screenshot(path=str(SHOTS / f"guarded-rollout-{name}.png"))
        page.close()
