"""An admin in headless Chromium starts an evaluation from the dataset page, watches the cases
come in live (n of m over the socket), and opens a failed case to read why, with its transcript."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from accounts.models import Membership
from analytics.evaluation.datasets import dataset_import
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.stack, pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
CASES = [
    {"key": "trial", "message": "@assistant: wait 0.15 The trial lasts 30 days.", "facts": ["30 days"]},
    {"key": "discount", "message": "@assistant: wait 0.15 Annual billing saves nothing.", "facts": ["20%"]},
    {"key": "greeting", "message": "@assistant: wait 0.15 Hello there.", "expected_agent": "assistant"},
    {"key": "plans", "message": "@assistant: wait 0.15 We have three plans.", "facts": ["four plans"]},
]


@pytest.fixture
def suite(account, make_user):
    """An admin and a dataset, made before the browser starts (the ORM is not for its event loop)."""
    admin = make_user(account, role=Membership.Role.ADMIN, username="evaladmin")
    content = "".join(json.dumps(case) + "\n" for case in CASES)
    return admin, dataset_import(account=account, name="Smoke suite", content=content, file_format="jsonl")


def test_start_an_evaluation_watch_it_progress_and_open_a_failed_case(stack, suite, page):
    admin, dataset = suite

    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(f"{stack.base_url}/accounts/login/")
    page.fill('input[name="username"]', admin.username)
    page.fill('input[name="password"]', PASSWORD)
    page.click('button[type="submit"]')
    expect(page).to_have_url(re.compile(r"/chat/$"))

    page.goto(f"{stack.base_url}/analytics/evaluations/")
    page.click("text=Smoke suite")
    expect(page).to_have_url(re.compile(rf"/analytics/evaluations/datasets/{dataset.pk}/$"))
    expect(page.locator("tr[data-case]")).to_have_count(4)
    page.click('button[data-action="run"]')

    expect(page).to_have_url(re.compile(r"/analytics/evaluations/runs/\d+/$"))
    live = page.locator("#run-live")
    # Seen part-way over the socket, then complete with its figures.
    expect(live).to_have_attribute("data-done", re.compile(r"^[123]$"))
    expect(live).to_have_attribute("data-status", "complete", timeout=60_000)
    expect(live).to_have_attribute("data-done", "4")
    expect(live.locator('tr[data-status="passed"]')).to_have_count(2)
    expect(live.locator('tr[data-status="failed"]')).to_have_count(2)
    expect(live.locator('[data-figure="pass_rate"]')).to_have_text("50.0%")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "evaluation-run-1366.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(SCREENSHOTS / "evaluation-run-390.png"), full_page=True)

    live.locator('tr[data-case="discount"] a').click()
    expect(page).to_have_url(re.compile(r"/analytics/evaluations/runs/\d+/results/\d+/$"))
    expect(page.locator("[data-result-status]")).to_have_text("Failed")
    failed = page.locator('tr[data-check="fact"][data-passed="no"]')
    expect(failed).to_contain_text("20%")
    expect(page.locator(".eval-transcript")).to_contain_text("Annual billing saves nothing.")
    page.screenshot(path=str(SCREENSHOTS / "evaluation-result-390.png"), full_page=True)
    page.set_viewport_size({"width": 1366, "height": 900})
    page.screenshot(path=str(SCREENSHOTS / "evaluation-result-1366.png"), full_page=True)
