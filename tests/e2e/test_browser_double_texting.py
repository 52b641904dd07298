"""Double texting in headless Chromium against daphne and a Celery worker: a second message typed
while the first reply streams, under each of the account's four settings."""

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from accounts.models import Account
from tests.conftest import PASSWORD
from tests.support.live import off_loop

pytestmark = [pytest.mark.stack, pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(os.environ.get("SCREENSHOT_DIR", "/tmp/shots"))
SLOW = "count=150 delay=0.03"  # about five seconds of streaming


def _chat_with_a_streaming_reply(page, base_url: str, member, account: Account, strategy: str):
    off_loop(lambda: Account.objects.filter(pk=account.pk).update(double_texting=strategy))
    page.goto(f"{base_url}/accounts/login/")
    page.fill('input[name="username"]', member.username)
    page.fill('input[name="password"]', PASSWORD)
    page.click('button[type="submit"]')
    expect(page).to_have_url(re.compile(r"/chat/$"))
    page.fill('textarea[name="message"]', SLOW)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/chat/\d+/$"))
    first = page.locator('[data-role="assistant"]').first
    expect(first.locator(".message-text")).to_contain_text("w3 ")
    page.fill('textarea[name="message"]', "second question")
    page.keyboard.press("Enter")
    return first


@pytest.mark.parametrize("width", [390, 1366])
def test_enqueue_marks_the_second_message_queued_and_answers_it_after_the_first(
    stack, member, account, new_page, width
):
    page = new_page(viewport={"width": width, "height": 800})
    first = _chat_with_a_streaming_reply(page, stack.base_url, member, account, "enqueue")
    question = page.locator('[data-role="user"]').nth(1)
    second = page.locator('[data-role="assistant"]').nth(1)
    expect(question.locator("[data-queued]")).to_have_text("queued")
    expect(second).to_have_attribute("data-status", "queued")
    expect(page.locator('textarea[name="message"]')).to_have_value("")  # sent, not held back
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / f"double-texting-queued-{width}.png", full_page=True)

    expect(first).to_have_attribute("data-status", "complete", timeout=20_000)
    expect(second).to_have_attribute("data-status", "complete", timeout=20_000)
    expect(second.locator(".message-text")).to_have_text("You said: second question")
    expect(question.locator("[data-queued]")).to_have_count(0)


def test_interrupt_stops_the_first_reply_marked_and_answers_the_second(stack, member, account, new_page):
    page = new_page(viewport={"width": 1366, "height": 800})
    first = _chat_with_a_streaming_reply(page, stack.base_url, member, account, "interrupt")
    expect(first).to_have_attribute("data-status", "interrupted")
    expect(first.locator("[data-interrupted]")).to_have_text("interrupted")
    expect(first.locator(".message-text")).to_contain_text("w3 ")  # the text so far is kept
    second = page.locator('[data-role="assistant"]').nth(1)
    expect(second).to_have_attribute("data-status", "complete", timeout=20_000)
    expect(second.locator(".message-text")).to_have_text("You said: second question")
    shown = first.locator(".message-text").inner_text()
    assert "w150" not in shown
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / "double-texting-interrupted-1366.png", full_page=True)
    page.reload()
    expect(page.locator('[data-role="assistant"]').first).to_have_attribute("data-status", "interrupted")


def test_rollback_removes_the_first_question_and_reply_and_answers_the_second(
    stack, member, account, new_page
):
    page = new_page(viewport={"width": 1366, "height": 800})
    _chat_with_a_streaming_reply(page, stack.base_url, member, account, "rollback")
    # One assertion on the whole list, retried until it holds: the second question is appended
    # by the POST and the first removed over the socket, in either order.
    expect(page.locator('[data-role="user"]')).to_have_text(["second question"], timeout=20_000)
    reply = page.locator('[data-role="assistant"]')
    expect(reply).to_have_count(1, timeout=20_000)
    expect(reply).to_have_attribute("data-status", "complete", timeout=20_000)
    expect(reply.locator(".message-text")).to_have_text("You said: second question")
    page.reload()
    expect(page.locator('[data-role="user"]')).to_have_count(1)


def test_reject_shows_why_and_keeps_the_typed_text(stack, member, account, new_page, browser_watch):
    browser_watch.allow(409, "/messages/")  # the refusal, shown under the composer
    page = new_page(viewport={"width": 390, "height": 800})
    first = _chat_with_a_streaming_reply(page, stack.base_url, member, account, "reject")
    expect(page.locator("#composer-error")).to_contain_text("still being written")
    expect(page.locator('textarea[name="message"]')).to_have_value("second question")
    expect(page.locator('[data-role="user"]')).to_have_count(1)
    first.locator('button:has-text("Stop")').click()
    expect(first).to_have_attribute("data-status", "cancelled")
