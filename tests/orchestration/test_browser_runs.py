"""A person in headless Chromium starts a parallel run from the form and watches its
progress bar fill, live, on the run page and on the Runs page."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.conftest import PASSWORD

pytestmark = [pytest.mark.stack, pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_start_a_parallel_run_and_watch_the_progress_bar_complete(stack, member, trio, page):
    page.goto(f"{stack.base_url}/accounts/login/")
    page.fill('input[name="username"]', member.username)
    page.fill('input[name="password"]', PASSWORD)
    page.click('button[type="submit"]')
    expect(page).to_have_url(re.compile(r"/chat/$"))

    page.click("text=Runs")
    expect(page).to_have_url(re.compile(r"/runs/$"))
    page.click("text=Start a run")
    page.select_option('select[name="mode"]', "parallel")
    page.fill('textarea[name="request"]', "Research three vendors in parallel")
    for index, (agent, seconds) in enumerate([("alpha", "0.3"), ("beta", "0.6"), ("gamma", "0.9")]):
        page.select_option(f'select[name="task-{index}-target"]', f"agent:{agent}")
        page.fill(
            f'textarea[name="task-{index}-input"]',
            f"@{agent}: wait {seconds} {agent} finds vendor {index} fine",
        )
    page.click('button:has-text("Start the run")')

    expect(page).to_have_url(re.compile(r"/runs/\d+/$"))
    detail = page.locator("#run-detail")
    progress = detail.locator(".run-progress")
    # Seen part-way: the first agent is done while the slowest is still answering.
    expect(progress).to_have_attribute("data-done", "1")
    expect(detail).to_have_attribute("data-status", "in_progress")
    expect(progress).to_have_attribute("data-done", "3")
    expect(progress).to_have_attribute("data-total", "3")
    expect(detail).to_have_attribute("data-status", "completed")
    expect(detail.locator('.task-node[data-agent="gamma"] .task-result')).to_have_text(
        "gamma finds vendor 2 fine"
    )
    expect(detail.locator('.task-node[data-status="completed"]')).to_have_count(3)

    run_id = re.search(r"/runs/(\d+)/$", page.url).group(1)
    page.click("text=← Runs")
    row = page.locator(f"#run-row-{run_id}")
    expect(row).to_have_attribute("data-status", "completed")
    expect(row.locator(".run-progress")).to_have_attribute("data-done", "3")
