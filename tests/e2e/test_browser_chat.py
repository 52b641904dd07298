"""A person in headless Chromium: log in, chat, watch the reply stream, reload."""

import re

import pytest
from playwright.sync_api import expect

from tests.conftest import PASSWORD

pytestmark = [pytest.mark.stack, pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _log_in(page, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/accounts/login/")
    page.fill('input[name="username"]', username)
    page.fill('input[name="password"]', PASSWORD)
    page.click('button[type="submit"]')
    expect(page).to_have_url(re.compile(r"/chat/$"))


def test_log_in_chat_watch_it_stream_and_find_it_after_reload(stack, member, page):
    _log_in(page, stack.base_url, member.username)
    page.fill('textarea[name="message"]', "count=120 delay=0.02")
    page.keyboard.press("Enter")

    expect(page).to_have_url(re.compile(r"/chat/\d+/$"))
    expect(page.locator('[data-role="user"]')).to_have_text("count=120 delay=0.02")
    reply = page.locator('[data-role="assistant"]')
    # Seen while streaming, part-way: the reply arrives in pieces, not at the end.
    expect(reply).to_have_attribute("data-status", "streaming")
    expect(reply.locator(".message-text")).to_contain_text("w5 ")
    expect(reply).to_have_attribute("data-status", "complete")
    expect(reply).to_have_attribute("data-agent", "assistant")
    expect(reply.locator(".message-text")).to_have_text(" ".join(f"w{i}" for i in range(1, 121)))
    expect(reply.locator(".model-name")).to_have_text("scripted/default")

    page.fill('textarea[name="message"]', "second question")
    page.click('button:has-text("Send")')
    expect(page.locator('[data-role="assistant"]').nth(1)).to_have_attribute("data-status", "complete")
    expect(page.locator('textarea[name="message"]')).to_have_value("")

    page.reload()
    expect(page.locator('[data-role="user"]')).to_have_count(2)
    expect(page.locator('[data-role="assistant"]').nth(0).locator(".message-text")).to_contain_text("w120")
    expect(page.locator('[data-role="assistant"]').nth(1)).to_have_text(
        re.compile("You said: second question")
    )
    expect(page.locator(".conversation-list")).to_contain_text("count=120 delay=0.02")


def test_model_output_is_shown_as_text_not_run(stack, member, page):
    _log_in(page, stack.base_url, member.username)
    payload = '<img src=x onerror="document.title=\'pwned\'"><script>document.title="pwned"</script>'
    page.fill('textarea[name="message"]', payload)
    page.keyboard.press("Enter")
    reply = page.locator('[data-role="assistant"]')
    expect(reply).to_have_attribute("data-status", "complete")
    expect(reply.locator(".message-text")).to_contain_text("<script>")
    assert page.title() != "pwned"
    assert page.locator(".message img, .message script").count() == 0


def test_an_empty_or_too_long_message_shows_why(stack, member, browser_watch, page):
    browser_watch.allow(400, "/chat/new/")  # the refusal, shown under the composer
    _log_in(page, stack.base_url, member.username)
    page.evaluate("document.querySelector('textarea[name=message]').removeAttribute('maxlength')")
    page.fill('textarea[name="message"]', "x" * 8001)
    page.keyboard.press("Enter")
    expect(page.locator("#composer-error")).to_contain_text("at most 8,000 characters")
    expect(page).to_have_url(re.compile(r"/chat/$"))


def test_stop_ends_a_running_reply(stack, member, page):
    _log_in(page, stack.base_url, member.username)
    page.fill('textarea[name="message"]', "count=2000 delay=0.02")
    page.keyboard.press("Enter")
    reply = page.locator('[data-role="assistant"]')
    expect(reply.locator(".message-text")).to_contain_text("w3 ")
    reply.locator('button:has-text("Stop")').click()
    expect(reply).to_have_attribute("data-status", "cancelled")
    expect(reply.locator(".message-text")).not_to_contain_text("w2000")
