"""A person in headless Chromium: the analytics page draws its charts, and choosing another window
redraws them with that window's numbers."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import Membership
from analytics.rollups import rollups_rebuild
from tests.analytics.conftest import Builder, _agent
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.stack, pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def traffic(account, make_user):
    """Made before the browser starts: Playwright's sync API runs an event loop in this thread."""
    operator = make_user(account, role=Membership.Role.OPERATOR, username="olga")
    alpha, beta, gamma = (_agent(account, slug, "m") for slug in ("alpha", "beta", "gamma"))
    builder = Builder(account, operator)
    now = timezone.now()
    recent = builder.conversation(arm="multi_agent", at=now - timedelta(hours=3), title="Recent")
    builder.turn(
        recent, at=now - timedelta(hours=3), agent=beta, latency=900, handoffs=[(alpha, beta, "tool")]
    )
    older = builder.conversation(arm="multi_agent", at=now - timedelta(days=10), title="Older")
    builder.turn(older, at=now - timedelta(days=10), agent=alpha, latency=1500,
                 handoffs=[(gamma, alpha, "tool"), (alpha, beta, "tool")])  # fmt: skip
    rollups_rebuild(account=account)


def test_charts_render_and_follow_the_window(stack, traffic, new_page):
    page = new_page(viewport={"width": 1440, "height": 900})
    page.goto(f"{stack.base_url}/accounts/login/")
    page.fill('input[name="username"]', "olga")
    page.fill('input[name="password"]', PASSWORD)
    page.click('button[type="submit"]')
    page.goto(f"{stack.base_url}/analytics/handoffs/?window=24h")

    paths = page.locator('canvas[data-chart="chart_paths-data"]')
    expect(paths).to_have_attribute("data-drawn", "1")  # one flow: alpha -> beta
    expect(page.locator('canvas[data-chart="chart_handoff_series-data"]')).to_have_attribute(
        "data-drawn", re.compile(r"[1-9]")
    )
    expect(page.locator('[data-kpi="handoffs"]')).to_have_text("1")

    page.select_option("#window-select", "30d")
    expect(page.locator(".window-label")).to_have_attribute("data-window", "30d")
    expect(page).to_have_url(re.compile(r"window=30d"))
    expect(page.locator('[data-kpi="handoffs"]')).to_have_text("3")
    expect(paths).to_have_attribute("data-drawn", "2")  # gamma -> alpha and alpha -> beta
    expect(page.locator("details.numbers").first).to_contain_text("Gamma")
    assert (
        page.evaluate(
            "Chart.getChart(document.querySelector('canvas[data-chart=\"chart_paths-data\"]')).config.type"
        )
        == "sankey"
    )
