"""Rollout through real processes: daphne and a Celery worker (each with its own flag snapshot,
kept fresh through Redis), and a person in headless Chromium."""

from __future__ import annotations

import re
import time

import httpx
import pytest
from playwright.sync_api import expect

from accounts.auth import api_token_create
from accounts.models import Membership
from agents.models import AgentInstance, AgentTemplate
from conversations.models import Conversation, ShadowPair
from rollout.decision import bucket
from rollout.models import AccountFlag, FlagChange, Phase
from rollout.services import flag_update
from tests.e2e.test_browser_chat import _log_in
from tests.support.live import off_loop

pytestmark = [pytest.mark.stack, pytest.mark.django_db(transaction=True)]

HANDOFF = "@assistant: transfer architect needs a design || @architect: say Here is the design"
PROPAGATION_SECONDS = 1.0  # a change reaches every process within this


@pytest.fixture
def architect(account):
    assistant = AgentInstance.objects.get(account=account, slug="assistant")
    template = AgentTemplate.objects.create(slug="rollout-kind", name="Rollout kind")
    architect = AgentInstance.objects.create(
        account=account, template=template, slug="architect", name="Solution architect"
    )
    assistant.handoff_targets.set([architect])
    return architect


@pytest.fixture
def settle():
    """Wait until the stack's processes have seen the flags, before and after the test."""
    yield lambda: time.sleep(PROPAGATION_SECONDS)
    time.sleep(PROPAGATION_SECONDS)


def _wait(predicate, timeout: float = 30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out")


@pytest.mark.browser
def test_each_user_chats_with_their_arm(stack, flag, account, architect, make_user, page, settle):
    off_loop(lambda: flag_update(flag=flag, account=account, actor=None, reason="half", source="command",
                                 phase=Phase.PARTIAL, override_gates=True))  # fmt: skip
    users = off_loop(lambda: [make_user(account) for _ in range(8)])
    inside = next(u for u in users if bucket(flag.hash_group, u.pk) <= 50)
    outside = next(u for u in users if bucket(flag.hash_group, u.pk) > 50)
    settle()

    _log_in(page, stack.base_url, inside.username)
    page.fill('textarea[name="message"]', HANDOFF)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/chat/\d+/$"))
    expect(page.locator("section.chat")).to_have_attribute("data-arm", "multi_agent")
    reply = page.locator('[data-role="assistant"]')
    expect(reply).to_have_attribute("data-status", "complete")
    expect(reply).to_have_attribute("data-agent", "architect")
    expect(reply.locator("[data-handoff]")).to_contain_text("Assistant → Solution architect")

    page.context.clear_cookies()
    _log_in(page, stack.base_url, outside.username)
    page.fill('textarea[name="message"]', "@assistant: say the single agent answers")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/chat/\d+/$"))
    expect(page.locator("section.chat")).to_have_attribute("data-arm", "legacy")
    reply = page.locator('[data-role="assistant"]').first
    expect(reply).to_have_attribute("data-status", "complete")
    expect(reply).to_have_attribute("data-agent", "assistant")  # the single agent, not routed away
    expect(reply.locator(".message-text")).to_have_text("the single agent answers")

    arms = off_loop(lambda: dict(Conversation.objects.values_list("user__username", "arm")))
    assert arms == {inside.username: "multi_agent", outside.username: "legacy"}


def test_the_shadow_runs_on_the_worker_beside_the_served_legacy_answer(
    stack, flag, account, architect, member, settle
):
    flag_update(
        flag=flag, account=account, actor=None, reason="compare", source="command", phase=Phase.SHADOW
    )
    settle()
    _, token = api_token_create(user=member, name="e2e")
    response = httpx.post(
        f"{stack.base_url}/api/chat/message",
        json={"message": HANDOFF},
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["arm"], body["status"], body["agent"], body["handoffs"]) == (
        "legacy",
        "complete",
        "assistant",
        [],
    )
    pair = _wait(lambda: ShadowPair.objects.filter(shadow_reply__status="complete").select_related(
        "shadow_reply__agent").first())  # fmt: skip
    assert pair.legacy_reply_id == body["message_id"]
    assert (pair.shadow_reply.agent.slug, pair.shadow_reply.content) == ("architect", "Here is the design")


@pytest.mark.browser
def test_an_admin_moves_the_rollout_on_the_page_and_back_to_0(
    stack, flag, account, make_user, browser_watch, page, settle
):
    browser_watch.allow(409, "/rollout/multi_agent/")  # the refused change, shown with its gates
    admin = off_loop(lambda: make_user(account, role=Membership.Role.ADMIN, username="ada"))
    _log_in(page, stack.base_url, admin.username)
    page.click("nav >> text=Rollout")
    expect(page).to_have_url(re.compile(r"/rollout/multi_agent/$"))

    def change(phase: str, reason: str, override: bool = False) -> None:
        form = page.locator("#change-form")
        form.locator('select[name="phase"]').select_option(phase)
        form.locator('textarea[name="reason"]').fill(reason)
        if override:
            form.locator('input[name="override_gates"]').check()
        form.locator('button[type="submit"]').click()

    change("shadow", "compare answers first")
    expect(page.locator(".rollout-state")).to_have_attribute("data-phase", "shadow")

    change("canary", "looks fine")
    expect(page.locator("#gates-refused")).to_contain_text("No evaluation run with routing cases yet")
    assert off_loop(lambda: AccountFlag.objects.get().phase) == "shadow"  # refused: nothing changed
    change("canary", "pilot customers asked for it", override=True)
    expect(page.locator(".rollout-state")).to_have_attribute("data-phase", "canary")
    expect(page.locator("#flag-percentage")).to_have_text("10.0%")

    change("full", "everyone", override=True)
    expect(page.locator(".rollout-state")).to_have_attribute("data-phase", "full")

    page.locator('#rollback-form textarea[name="reason"]').fill("error spike")
    page.locator('#rollback-form button[type="submit"]').click()
    expect(page.locator(".rollout-state")).to_have_attribute("data-phase", "off")
    expect(page.locator("#flag-percentage")).to_have_text("0.0%")
    expect(page.locator("#history tbody tr")).to_have_count(5)  # four changes and the creation
    expect(page.locator("#history")).to_contain_text("error spike")
    changes = off_loop(
        lambda: list(FlagChange.objects.filter(account=account).order_by("id").values_list("source", "after"))
    )
    assert [after["phase"] for _, after in changes] == ["shadow", "canary", "full", "off"]
    assert {source for source, _ in changes} == {"page"}

    # The next conversation, through the real web process, is served by the legacy agent.
    settle()
    page.goto(f"{stack.base_url}/chat/")
    page.fill('textarea[name="message"]', "count=2")
    page.keyboard.press("Enter")
    expect(page.locator("section.chat")).to_have_attribute("data-arm", "legacy")
