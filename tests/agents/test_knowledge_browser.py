"""An admin in headless Chromium uploads a Markdown document on the Knowledge page, watches it
become ready over the socket (no reload), tries a question that finds its passage, then asks the
question in chat and gets an answer (from the default offline model) that states the document's
fact and links to the document."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from accounts.models import Membership
from agents.knowledge.embeddings import model_available
from agents.knowledge.ingestion import collection_create
from tests.conftest import PASSWORD
from tests.support.stack import Stack

pytestmark = [
    pytest.mark.stack,
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not model_available(), reason="the packaged MiniLM model is not installed"),
]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
HANDBOOK = "# Vault\n\n## Opening hours\n\nThe vault opens at nine in the morning. It closes at five.\n"


@pytest.fixture
def offline_stack(django_db_setup):
    """The web process and worker on the default offline model, which answers from the account's
    knowledge (the shared stack runs the scripted test model)."""
    running = Stack(LLM_MODEL="offline/knowledge-base", OFFLINE_MODEL_WORD_DELAY_SECONDS="0")
    try:
        running.start_web()
        running.start_worker()
        yield running
    finally:
        running.stop()


@pytest.fixture
def knowledge_admin(account, make_user):
    """An admin and an empty collection, made before the browser starts."""
    collection_create(account_id=account.pk, name="Handbook", description="How the office runs.")
    return make_user(account, role=Membership.Role.ADMIN, username="kbadmin")


def test_upload_a_document_watch_it_become_ready_and_chat_answers_citing_it(
    offline_stack, knowledge_admin, page, tmp_path
):
    stack = offline_stack
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
    document_link = row.locator(".knowledge-title a")
    expect(document_link).to_have_text("Vault")
    document_href = document_link.get_attribute("href")
    assert document_href and re.fullmatch(r"/knowledge/documents/\d+/", document_href), document_href

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

    # Chat: the answer states what only the uploaded document says, and links to it.
    page.set_viewport_size({"width": 1366, "height": 900})
    page.locator("nav.topnav").get_by_role("link", name="Chat", exact=True).click()
    expect(page).to_have_url(re.compile(r"/chat/$"))
    page.fill('textarea[name="message"]', "What time does the vault open?")
    page.keyboard.press("Enter")
    reply = page.locator('[data-role="assistant"]')
    expect(reply).to_have_attribute("data-status", "complete", timeout=120_000)
    text = reply.locator(".message-text")
    expect(text).to_contain_text("The vault opens at nine in the morning.")
    source = text.locator(f'a[href="{document_href}"]')
    expect(source).to_have_text("Vault")
    source.click()
    expect(page).to_have_url(re.compile(re.escape(document_href) + "$"))
    expect(page.locator("body")).to_contain_text("The vault opens at nine in the morning.")
