"""In headless Chromium over real daphne: the queue's filter survives a reload (it is in the
address), and the loser of a claim race reads who has it in the error slot, with no console
error on any page, the queue's live refresh included."""

import re

import pytest
from django.db import transaction
from playwright.sync_api import expect

from escalations.models import Escalation
from escalations.services import escalation_claim, policy_for_account
from escalations.triggers import reply_inspect
from tests.e2e.test_browser_chat import _log_in
from tests.escalations.conftest import chat_turn, climb
from tests.support.live import off_loop

pytestmark = [pytest.mark.stack, pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def queued(account, member, agents, operator, second_operator):
    policy = policy_for_account(account_id=account.pk)
    policy.research_enabled = policy.consultation_enabled = False
    policy.save()
    reply = chat_turn(account, member, "The printer on floor 3 jams. || @assistant: say I don't know.")
    escalation = climb(reply_inspect(reply_id=reply.pk))
    assert escalation.status == "open"
    return escalation


def test_the_queue_filter_is_in_the_address_and_survives_a_reload(stack, queued, new_page):
    page = new_page()
    _log_in(page, stack.base_url, "olivia")
    page.goto(f"{stack.base_url}/escalations/")
    expect(page.locator(f"#escalation-row-{queued.pk}")).to_be_visible()
    page.select_option('#queue-filters select[name="status"]', "resolved")
    expect(page).to_have_url(re.compile(r"/escalations/\?status=resolved$"))
    expect(page.locator("tr[data-escalation]")).to_have_count(0)
    page.reload()
    expect(page.locator('#queue-filters select[name="status"]')).to_have_value("resolved")
    expect(page.locator("tr[data-escalation]")).to_have_count(0)
    page.go_back()
    expect(page).to_have_url(re.compile(r"/escalations/$"))


def test_the_claim_loser_reads_who_has_it_with_no_console_error(
    stack, queued, operator, second_operator, new_page, browser_watch
):
    browser_watch.allow(409, f"/escalations/{queued.pk}/claim/")
    watcher = new_page()  # the queue page, refreshed live by the claim
    _log_in(watcher, stack.base_url, "olivia")
    watcher.goto(f"{stack.base_url}/escalations/")
    expect(watcher.locator(f"#escalation-row-{queued.pk} [data-assignee]")).to_have_text("—")

    loser = new_page()
    _log_in(loser, stack.base_url, "oscar")
    loser.goto(f"{stack.base_url}/escalations/{queued.pk}/")
    expect(loser.locator('button[data-action="claim"]')).to_be_visible()

    def win(escalation_id: int) -> None:
        with transaction.atomic():
            escalation_claim(escalation=Escalation.objects.get(pk=escalation_id), user=operator)

    def claim_first_then_send(route) -> None:
        # olivia's claim lands while oscar's is on its way: his request arrives second.
        off_loop(lambda: win(queued.pk))
        route.continue_()

    loser.route(f"**/escalations/{queued.pk}/claim/", claim_first_then_send)
    loser.click('button[data-action="claim"]')
    slot = loser.locator("#action-error")
    expect(slot).to_have_text("olivia has already claimed this escalation.")
    # The live refresh olivia's claim sets off shows her as the holder and leaves the message.
    expect(loser.locator("#escalation-state")).to_have_attribute("data-assignee", "olivia")
    expect(slot).to_have_text("olivia has already claimed this escalation.")
    expect(watcher.locator(f"#escalation-row-{queued.pk} [data-assignee]")).to_have_text("olivia")
