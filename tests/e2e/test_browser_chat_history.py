"""In Chromium: copy a reply, regenerate it and switch between the answers, then find the
conversation by search, rename it and delete it."""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.test_browser_chat import _log_in

pytestmark = [pytest.mark.stack, pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_copy_regenerate_switch_search_rename_and_delete(stack, member, new_page):
    clipboard = ["clipboard-read", "clipboard-write"]
    page = new_page(viewport={"width": 1366, "height": 768}, permissions=clipboard)
    _log_in(page, stack.base_url, member.username)
    page.fill('textarea[name="message"]', "count=4 delay=0.01")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/chat/\d+/$"))
    reply = page.locator('[data-role="assistant"]')
    expect(reply).to_have_attribute("data-status", "complete")

    reply.locator(".copy-button").click()
    expect(reply.locator(".copy-button")).to_have_text(re.compile("Copied"))
    assert page.evaluate("navigator.clipboard.readText()") == "w1 w2 w3 w4"

    reply.locator('button:has-text("Regenerate")').click()
    # The new answer takes the old one's place and streams in; the first is kept.
    expect(reply).to_have_count(1)
    expect(reply).to_have_attribute("data-status", "complete")
    expect(reply.locator(".variant-position")).to_have_text("2/2")
    reply.locator('button[aria-label="Previous answer"]').click()
    expect(reply.locator(".variant-position")).to_have_text("1/2")
    expect(reply.locator('button[aria-label="Next answer"]')).to_be_enabled()
    page.reload()
    expect(page.locator('[data-role="assistant"] .variant-position')).to_have_text("1/2")

    page.click(".chat-menu > summary")
    page.fill("#rename-input", "Counting to four")
    page.click('button:has-text("Rename")')
    expect(page.locator("#chat-title")).to_have_text("Counting to four")

    page.goto(f"{stack.base_url}/chat/")
    page.fill("#conversation-search-input", "nothing like it")
    expect(page.locator("#conversation-items")).to_contain_text("No conversation matches")
    page.fill("#conversation-search-input", "four")
    expect(page.locator("#conversation-items a")).to_have_count(1)
    page.click('#conversation-items a:has-text("Counting to four")')

    page.once("dialog", lambda dialog: dialog.accept())
    page.click(".chat-menu > summary")
    page.click('button:has-text("Delete conversation")')
    expect(page).to_have_url(re.compile(r"/chat/$"))
    expect(page.locator(".flash")).to_contain_text("Deleted “Counting to four”")
    expect(page.locator("#conversation-items")).not_to_contain_text("Counting to four")
