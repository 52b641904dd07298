"""A person watching agents work: a hand-off shown inline, and an approval card."""

import re

import pytest
from playwright.sync_api import expect

from agents.catalog.install import tools_install
from agents.models import AgentInstance, AgentTemplate, Ticket
from tests.e2e.test_browser_chat import _log_in
from tests.support.live import off_loop

pytestmark = [pytest.mark.stack, pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def agents(account):
    tools = tools_install()
    assistant = AgentInstance.objects.get(account=account, slug="assistant")
    template = AgentTemplate.objects.create(slug="browser-kind", name="Browser kind")
    architect = AgentInstance.objects.create(
        account=account, template=template, slug="architect", name="Solution architect"
    )
    assistant.handoff_targets.set([architect])
    assistant.tools.set([tools["ticket_create"]])
    return assistant, architect


def test_a_handoff_appears_inline_and_the_new_agent_answers(stack, member, agents, page):
    _log_in(page, stack.base_url, member.username)
    page.fill(
        'textarea[name="message"]',
        "@assistant: transfer architect this needs a design || @architect: say Here is the design",
    )
    page.keyboard.press("Enter")
    reply = page.locator('[data-role="assistant"]')
    expect(reply).to_have_attribute("data-status", "complete")
    expect(reply).to_have_attribute("data-agent", "architect")
    handoff = reply.locator("[data-handoff]")
    expect(handoff).to_contain_text("Assistant → Solution architect")
    expect(handoff).to_contain_text("this needs a design")
    expect(reply.locator(".message-text")).to_have_text("Here is the design")
    page.reload()
    expect(page.locator("[data-handoff]")).to_contain_text("Assistant → Solution architect")


def test_an_action_waits_for_approval_and_runs_only_after_approve(stack, member, agents, page):
    _log_in(page, stack.base_url, member.username)
    page.fill(
        'textarea[name="message"]',
        '@assistant: tool ticket_create {"title": "Reset the VPN"}; say Ticket filed',
    )
    page.keyboard.press("Enter")
    reply = page.locator('[data-role="assistant"]')
    card = reply.locator(".approval-card")
    expect(card).to_contain_text("ticket_create")
    expect(card).to_contain_text("Reset the VPN")
    expect(reply).to_have_attribute("data-status", "awaiting_approval")
    assert off_loop(Ticket.objects.count) == 0

    card.locator('button:has-text("Approve")').click()
    expect(reply).to_have_attribute("data-status", "complete")
    expect(reply.locator(".message-text")).to_have_text("Ticket filed")
    expect(reply.locator('.tool-call[data-tool="ticket_create"]')).to_have_attribute(
        "data-status", "completed"
    )
    expect(reply.locator(".tool-call summary")).to_contain_text(re.compile("approved by"))
    assert off_loop(lambda: Ticket.objects.get().title) == "Reset the VPN"


def test_a_denied_action_is_not_run(stack, member, agents, page):
    _log_in(page, stack.base_url, member.username)
    page.fill(
        'textarea[name="message"]', '@assistant: tool ticket_create {"title": "Wipe it"}; say Understood'
    )
    page.keyboard.press("Enter")
    reply = page.locator('[data-role="assistant"]')
    reply.locator('.approval-card button:has-text("Deny")').click()
    expect(reply).to_have_attribute("data-status", "complete")
    expect(reply.locator('.tool-call[data-tool="ticket_create"]')).to_have_attribute("data-status", "denied")
    assert off_loop(Ticket.objects.count) == 0
