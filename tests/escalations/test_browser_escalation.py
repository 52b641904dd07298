"""End to end, in two headless Chromium windows over real daphne and a real Celery worker:
a request no agent can answer climbs the ladder on the worker (the three consultations
running at the same time), reaches the queue, an operator claims it and replies, and the
user's open chat shows the reply live, marked as from a person."""

import re

import pytest
from playwright.sync_api import expect

from escalations.models import AgentConsultation, Escalation
from tests.e2e.test_browser_chat import _log_in
from tests.support.live import off_loop, wait_for

pytestmark = [pytest.mark.stack, pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCRIPT = (
    "The printer on floor 3 jams every morning, how do I fix it?"
    " || @assistant: say I don't know."
    " || @research: say I cannot resolve this"
    " || @alpha: wait 0.4 Replace the tray"
    " || @beta: wait 0.4 Update the driver"
    " || @gamma: wait 0.4 Call the vendor"
)


def test_the_ladder_runs_on_the_worker_and_an_operators_reply_reaches_the_open_chat(
    stack, member, operator, agents, new_page
):
    desk = new_page()
    _log_in(desk, stack.base_url, operator.username)
    desk.click('a:has-text("Escalations")')
    expect(desk.locator("tr[data-escalation]")).to_have_count(0)

    user = new_page()
    _log_in(user, stack.base_url, member.username)
    user.fill('textarea[name="message"]', SCRIPT)
    user.keyboard.press("Enter")
    expect(user).to_have_url(re.compile(r"/chat/\d+/$"))
    expect(user.locator('[data-role="assistant"]').first).to_contain_text("I don't know.")
    # The ladder climbs on the worker; the hand-over notice arrives in the open chat.
    expect(user.locator("#messages")).to_contain_text("passed your request to a person", timeout=60_000)

    escalation = off_loop(lambda: Escalation.objects.get(conversation__user=member))
    assert (escalation.trigger, escalation.status) == ("cannot_resolve", "open")
    outcomes = off_loop(lambda: dict(escalation.phase_runs.values_list("phase", "outcome")))
    assert outcomes == {
        "quick_fix": "fell_through",
        "research": "fell_through",
        "consultation": "fell_through",
        "human": "queued",
    }
    consultations = off_loop(
        lambda: list(AgentConsultation.objects.filter(escalation=escalation, phase="consultation"))
    )
    assert sorted(c.agent_id for c in consultations) == sorted(
        agents[s].pk for s in ("alpha", "beta", "gamma")
    )
    # In parallel, not one after another: every consultation started before any finished.
    assert max(c.started_at for c in consultations) < min(c.finished_at for c in consultations)

    # The operator's queue page, open all along, shows it without a reload.
    row = desk.locator(f"#escalation-row-{escalation.pk}")
    # Generous: in the loaded full run the worker publishes the row a few seconds later.
    expect(row).to_have_attribute("data-status", "open", timeout=30_000)
    expect(desk.locator("tr[data-escalation]")).to_have_count(1)
    expect(desk.locator('[data-stat="open"]')).to_have_text("1")
    row.locator("a").first.click()
    expect(desk.locator(".ladder-step[data-phase=consultation]")).to_contain_text("Only 0 of 3 agreed")
    expect(desk.locator('.ladder-step[data-phase=consultation] tr[data-agreed="no"]')).to_have_count(3)
    desk.click('button[data-action="claim"]')
    expect(desk.locator("#escalation-state")).to_have_attribute("data-assignee", operator.username)

    answer = "Facilities swap the floor 3 tray on Mondays; until then use the printer on floor 2."
    desk.fill('textarea[name="content"]', answer)
    desk.click('button[data-action="reply"]')
    expect(desk.locator("#escalation-state")).to_have_attribute("data-status", "waiting_on_user")
    expect(desk.locator('textarea[name="content"]')).to_have_value("")

    # The user never reloaded: the reply arrives over the socket, marked as a person's.
    person = user.locator('[data-role="assistant"]:has([data-person])')
    expect(person).to_contain_text(answer)
    expect(person.locator("[data-person]")).to_have_text("from a person")
    expect(person.locator(".agent-name")).to_have_text(operator.username)
    wait_for(
        lambda: off_loop(lambda: Escalation.objects.get(pk=escalation.pk).first_response_at),
        timeout=5,
        message="the first response was not recorded",
    )
