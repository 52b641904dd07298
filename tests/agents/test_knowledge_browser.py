"""An admin in headless Chromium uploads a Markdown document on the Knowledge page, watches it
become ready over the socket (no reload), and tries a question that finds its passage."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from accounts.models import Membership
from agents.knowledge.ingestion import collection_create
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.stack, pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
HANDBOOK = "# Vault\n\n## Opening hours\n\nThe vault opens at nine in the morning. It closes at five.\n"


@pytest.fixture
def knowledge_admin(account, make_user):
    """An admin and an empty collection, made before the browser starts."""
    collection_create(account_id=account.pk, name="Handbook", description="How the office runs.")
    return make_user(account, role=Membership.Role.ADMIN, username="kbadmin")


def test_upload_a_document_watch_it_become_ready_and_find_its_passage(stack, knowledge_admin, page, tmp_path):
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(f"{stack.base_url}/accounts/login/")
    page.fill('input[name="username"]', knowledge_admin.username)
    page.fill('input[name="password"]', PASSWORD)
    page.click('button[type="submit"]')
    expect(page).to_have_url(re.compile(r"/chat/$"))

    page.click("nav.topnav >> text=Knowledge")
    expect(page).to_have_url(re.compile(r"/knowledge/$"))
    handbook = tmp_path / "vault-hours.md"
    handbook.write_text(HANDBOOK)
    page.select_option("#upload-collection", label="Handbook")
    page.set_input_files("#upload-file", str(handbook))
    page.click('button[data-action="upload"]')

    expect(page).to_have_url(re.compile(r"/knowledge/$"))
    # The only document of the collection (its title becomes the Markdown's heading once parsed).
    row = page.locator("section", has=page.locator("h2", has_text="Handbook")).locator(".knowledge-document")
    expect(row).to_have_count(1)
    # The row changes in place as the worker reports progress: ready without a reload.
    page.evaluate("window.__notReloaded = true")
    expect(row).to_have_attribute("data-status", "ready", timeout=60_000)
    assert page.evaluate("window.__notReloaded === true")
    expect(row.locator('[data-field="chunks"]')).to_contain_text("passages")
    expect(row.locator(".knowledge-title a")).to_have_text("Vault")

    page.fill("#knowledge-question", "When does the vault open?")
    page.click('button[data-action="try"]')
    passage = page.locator("#knowledge-passages [data-passage]").first
    # The web process loads the embedding model on its first question: allow it the time.
    expect(passage).to_contain_text("The vault opens at nine in the morning.", timeout=60_000)
    expect(passage).to_have_attribute("data-score", re.compile(r"^\d+\.\d{3}$"))

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "knowledge-1366.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(SCREENSHOTS / "knowledge-390.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
