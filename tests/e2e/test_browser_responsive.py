"""Every page at a phone's size (390 x 844) and a laptop's (1366 x 768): nothing is wider than the
window (the page never scrolls sideways and the browser never zooms out), and the page's primary
action is on screen, the menu included. Screenshots of each go to /tmp/shots/ for a person to look."""

from __future__ import annotations

import os
import re
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from accounts.models import Membership
from agents.catalog.install import catalog_install_demo
from conversations.models import Message
from conversations.services import conversation_start
from escalations.models import Escalation, LearnedPattern
from orchestration.models import TaskRun, WorkflowRun
from rollout import decision
from rollout.models import FlagChange
from rollout.services import flag_create
from tests.e2e.test_browser_chat import _log_in

pytestmark = [pytest.mark.stack, pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SIZES = {"phone": {"width": 390, "height": 844}, "laptop": {"width": 1366, "height": 768}}
SHOTS = Path(os.environ.get("SCREENSHOT_DIR", "/tmp/shots"))
LONG_REPLY = (
    "Here is how incidents are assigned:\n\n"
    "| Priority | Team | First response | Resolution | Escalates to | Notes |\n"
    "|---|---|---|---|---|---|\n"
    "| P1 | Major incident desk | 15 minutes | 4 hours | Duty manager | Bridge call opens at once |\n"
    "| P2 | Service desk level 2 | 30 minutes | 8 hours | Team lead | |\n\n"
    "```\nassignment_group = rules.match(ci.owner_group, category, priority).first_or_default()\n```\n\n"
    "**Sources**\n- [Incident assignment](/kb/articles/incident-assignment/)\n"
    "- https://example.com/a/very/long/address/that/does/not/break/anywhere/on/its/own/at/all\n"
)


@pytest.fixture
def site(account, make_user):
    """One of everything the pages show, for an admin who sees every page."""
    catalog_install_demo(account=account)
    admin = make_user(account, role=Membership.Role.ADMIN, username="responsive-admin")
    admin.is_staff = True
    admin.save(update_fields=["is_staff"])
    call_command("generate_traffic", "--conversations", "60", "--account", "acme", stdout=StringIO())
    conversation = conversation_start(account=account, user=admin)
    conversation.title = "Incident assignment rules for the service desk, in detail, with every team"
    conversation.save()
    question = Message.objects.create(
        conversation=conversation, role="user", content="How are incidents assigned?"
    )
    Message.objects.create(
        conversation=conversation, role="assistant", content=LONG_REPLY, reply_to=question,
        model="offline/knowledge-base", completion_tokens=120, latency_ms=900,
    )  # fmt: skip
    run = WorkflowRun.objects.create(
        account=account, mode=WorkflowRun.Mode.PARALLEL, status="completed", started_by=admin,
        request="Research three ITSM vendors in parallel and compare their pricing for 200 agents",
        tokens=900, cost_usd=Decimal("0.0123"),
    )  # fmt: skip
    for position, slug in enumerate(("consultant", "research", "sales")):
        TaskRun.objects.create(
            run=run, position=position, agent_slug=slug, input="Compare vendor pricing for 200 agents",
            status="completed", result="A long result " * 20,
        )  # fmt: skip
    escalation = Escalation.objects.filter(account=account).order_by("-created_at").first()
    # Waiting for a person, so the detail page offers Claim.
    Escalation.objects.filter(pk=escalation.pk).update(
        status="open", phase="human", assignee=None, claimed_at=None, first_response_at=None
    )
    LearnedPattern.objects.create(
        account=account,
        problem="The badge reader at the Lisbon office rejects a new badge",
        fix="Re-enrol it.",
    )
    flag_create(key=decision.MULTI_AGENT_FLAG, actor=None, reason="tests", source=FlagChange.Source.COMMAND)
    return {"admin": admin, "conversation": conversation, "run": run, "escalation": escalation}


def _pages(site) -> dict[str, tuple[str, str]]:
    """name: (path, the primary action or content that must be on screen)."""
    return {
        "chat-new": ("/chat/", 'button:has-text("Send")'),
        "chat": (f"/chat/{site['conversation'].pk}/", 'button:has-text("Send")'),
        "runs": ("/runs/", 'a:has-text("Start a run")'),
        "run": (f"/runs/{site['run'].pk}/", "h1"),
        "run-form": ("/runs/new/", 'button:has-text("Start the run")'),
        "queue": ("/escalations/", f"[data-escalation='{site['escalation'].pk}'] a >> nth=0"),
        "escalation": (f"/escalations/{site['escalation'].pk}/", '[data-action="claim"]'),
        "patterns": ("/escalations/patterns/", 'button:has-text("Approve")'),
        "analytics": ("/analytics/?window=30d", "#window-select"),
        **{
            f"analytics-{section}": (f"/analytics/{section}/?window=30d", "#window-select")
            for section in ("handoffs", "routing", "agents", "cohorts", "escalations")
        },
        "alerts": ("/analytics/alerts/", "h1"),
        "rollout": ("/rollout/", 'button:has-text("Apply change")'),
        "rollout-flag": (f"/rollout/{decision.MULTI_AGENT_FLAG}/", 'button:has-text("Apply change")'),
        "agents": ("/agents/", "h1"),
        "knowledge": ("/knowledge/", "h1"),
        "mcp-servers": ("/tools/mcp/", "h1"),
        "readiness": ("/readiness/", "h1"),
        "evaluations": ("/analytics/evaluations/", "h1"),
        "suggestions": ("/analytics/suggestions/", "h1"),
    }


def _overflow(page) -> int:
    """How far the page is wider than the window, in CSS pixels (0: it fits)."""
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


# The innermost elements that reach past the window's right edge: what to fix.
_CULPRITS = """() => {
  const past = (el) => el.getBoundingClientRect().right > window.innerWidth + 1;
  return Array.from(document.querySelectorAll("body *"))
    .filter((el) => past(el) && !Array.from(el.children).some(past))
    .slice(0, 4)
    .map((el) => `${el.tagName}.${el.className} (${Math.round(el.getBoundingClientRect().right)}px)`);
}"""


def _menu_reachable(page, size: str) -> None:
    logout = page.locator('.topbar button:has-text("Log out")')
    if size == "phone":
        expect(logout).to_be_hidden()
        page.click("[data-nav-toggle]")
        expect(page.locator('.topnav a:has-text("Runs")')).to_be_in_viewport()
    expect(logout).to_be_in_viewport()
    if size == "phone":
        page.click("[data-nav-toggle]")
        expect(logout).to_be_hidden()


@pytest.mark.parametrize("size", list(SIZES))
def test_every_page_fits_the_window_with_its_primary_action_on_screen(stack, site, new_page, size):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = new_page(viewport=SIZES[size])
    wide: list[str] = []

    page.goto(f"{stack.base_url}/accounts/login/")
    expect(page.locator('button[type="submit"]')).to_be_in_viewport()
    wide += [f"login: {_overflow(page)} px"] if _overflow(page) > 0 else []
    page.screenshot(path=SHOTS / f"login-{size}.png", full_page=True)
    _log_in(page, stack.base_url, site["admin"].username)

    for name, (path, primary) in _pages(site).items():
        page.goto(f"{stack.base_url}{path}")
        page.wait_for_load_state("networkidle")
        if _overflow(page) > 0:
            wide.append(f"{name} ({path}): {_overflow(page)} px too wide: {page.evaluate(_CULPRITS)}")
        page.screenshot(path=SHOTS / f"{name}-{size}.png", full_page=True)
        target = page.locator(primary).first
        target.scroll_into_view_if_needed()
        expect(target).to_be_in_viewport()
    assert not wide, wide

    page.goto(f"{stack.base_url}/runs/")
    _menu_reachable(page, size)


def test_on_a_phone_the_conversations_are_a_drawer_with_new_conversation_and_search(stack, site, new_page):
    page = new_page(viewport=SIZES["phone"])
    _log_in(page, stack.base_url, site["admin"].username)
    page.goto(f"{stack.base_url}/chat/{site['conversation'].pk}/")
    drawer = page.locator("#conversation-drawer")
    expect(drawer).to_be_hidden()
    expect(page.locator(".toolbar-new")).to_be_in_viewport()  # New conversation without opening it
    expect(page.locator('button:has-text("Send")')).to_be_in_viewport()
    # The composer's placeholder is read whole on a phone: its text fits the box.
    measured = page.eval_on_selector(
        "#message-input",
        """box => { const probe = document.createElement('span');
                    probe.style.font = getComputedStyle(box).font; probe.style.whiteSpace = 'pre';
                    probe.style.position = 'absolute'; probe.style.display = 'inline-block';
                    probe.textContent = box.placeholder; document.body.append(probe);
                    const width = probe.getBoundingClientRect().width; probe.remove();
                    const style = getComputedStyle(box);
                    const room = box.clientWidth
                        - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
                    return [width, room, box.placeholder]; }""",
    )
    width, room, placeholder = measured
    assert width <= room, f"the composer's placeholder {placeholder!r} is cut off: {width} > {room} px"
    expect(page.locator("#composer-hint")).to_be_hidden()
    page.screenshot(path=SHOTS / "chat-phone.png")

    page.click("[data-drawer-toggle]")
    expect(drawer.locator('a:has-text("New conversation")')).to_be_in_viewport()
    expect(drawer.locator('a[aria-current="page"]')).to_contain_text("Incident assignment rules")
    page.screenshot(path=SHOTS / "chat-drawer-phone.png")
    assert _overflow(page) <= 0
    page.keyboard.press("Escape")
    expect(drawer).to_be_hidden()

    page.click("[data-drawer-toggle]")
    drawer.locator('a:has-text("New conversation")').click()
    expect(page).to_have_url(re.compile(r"/chat/$"))
    expect(page.locator("#chat-title")).to_have_text("New conversation")
