"""The queue's address and pages: filters and sort in the URL, every row reachable through
counted pages, and a lost claim answered in the page's error slot, naming who has it."""

import pytest
from django.utils import timezone

from conversations.models import Message
from escalations.models import Escalation
from escalations.services import policy_for_account
from escalations.triggers import reply_inspect
from tests.escalations.conftest import chat_turn, client_for, climb

pytestmark = pytest.mark.django_db(transaction=True)

HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def queued(account, member, agents, operator):
    policy = policy_for_account(account_id=account.pk)
    policy.research_enabled = policy.consultation_enabled = False
    policy.save()
    reply = chat_turn(account, member, "The printer on floor 3 jams. || @assistant: say I don't know.")
    escalation = climb(reply_inspect(reply_id=reply.pk))
    assert escalation.status == "open"
    return escalation


def _more_resolved(queued: Escalation, count: int) -> list[int]:
    """``count`` resolved escalations of the same conversation, one per message."""
    messages = Message.objects.bulk_create(
        [Message(conversation=queued.conversation, role="user", content=f"q{i}") for i in range(count)]
    )
    now = timezone.now()
    created = Escalation.objects.bulk_create(
        [
            Escalation(
                account_id=queued.account_id,
                conversation=queued.conversation,
                message=message,
                trigger=queued.trigger,
                reason="r",
                question=f"question {i}",
                status="resolved",
                resolved_by_phase="human",
                resolved_at=now,
            )
            for i, message in enumerate(messages)
        ]
    )
    return [e.pk for e in created]


def test_all_rows_are_reachable_through_counted_pages(queued, operator_client):
    _more_resolved(queued, 119)  # 120 in all with the open one
    first = operator_client.get("/escalations/?status=all").content.decode()
    assert "Showing 1-50 of 120" in first and "Page 1 of 3" in first
    assert first.count('id="escalation-row-') == 50
    last = operator_client.get("/escalations/?status=all&page=3").content.decode()
    assert "Showing 101-120 of 120" in last and last.count('id="escalation-row-') == 20
    # The page links keep the filter, and the live refresh asks for the same page again.
    assert 'href="/escalations/?status=all&amp;page=2"' in last
    assert '<input type="hidden" name="page" value="3">' in last
    assert '<input type="hidden" name="status" value="all">' in last
    seen = set()
    for number in (1, 2, 3):
        html = operator_client.get(f"/escalations/table/?status=all&page={number}").content.decode()
        seen |= {part.split('"')[0] for part in html.split('id="escalation-row-')[1:]}
    assert len(seen) == 120
    # A page past the end shows the last one rather than nothing.
    past_the_end = operator_client.get("/escalations/?status=all&page=99").content.decode()
    assert "Showing 101-120 of 120" in past_the_end


def test_a_picked_filter_becomes_the_pages_address(queued, operator_client):
    response = operator_client.get(
        "/escalations/table/?status=resolved&priority=&older_than=&sort=newest",
        HTTP_HX_TRIGGER="queue-filters",
        **HX,
    )
    assert response["HX-Push-Url"] == "/escalations/?status=resolved&sort=newest"
    # Polls and live refreshes keep the address as it is.
    assert "HX-Push-Url" not in operator_client.get("/escalations/table/?status=resolved", **HX)
    # Reloading that address shows the same filter and sort picked.
    page = operator_client.get("/escalations/?status=resolved&sort=newest").content.decode()
    assert '<option value="resolved" selected>' in page and '<option value="newest" selected>' in page


def test_sort_orders(queued, operator_client):
    ids = _more_resolved(queued, 2)
    newest = operator_client.get("/escalations/table/?status=all&sort=newest").content.decode()
    oldest = operator_client.get("/escalations/table/?status=all&sort=oldest").content.decode()
    assert newest.index(f"row-{ids[-1]}") < newest.index(f"row-{queued.pk}")
    assert oldest.index(f"row-{queued.pk}") < oldest.index(f"row-{ids[-1]}")
    # An unknown sort is the default, not an error.
    assert operator_client.get("/escalations/table/?sort=drop").status_code == 200


def test_the_claim_loser_is_told_who_has_it_in_the_error_slot(queued, operator_client, second_operator):
    assert operator_client.post(f"/escalations/{queued.pk}/claim/", **HX).status_code == 200
    late = client_for(second_operator).post(
        f"/escalations/{queued.pk}/claim/", HTTP_HX_TARGET="action-error", **HX
    )
    assert late.status_code == 409 and "has already claimed this escalation" in late.content.decode()
    assert queued.assignee_id is None and late.content.decode().startswith(
        Escalation.objects.get(pk=queued.pk).assignee.get_username()
    )
    # The form targeted the slot itself: no re-target, which htmx resolves from the (maybe replaced) form.
    assert "HX-Retarget" not in late and late["HX-Reswap"] == "innerHTML"
    # A form that did not still lands in the slot.
    other = client_for(second_operator).post(f"/escalations/{queued.pk}/claim/", **HX)
    assert other["HX-Retarget"] == "#action-error"
    # The live refresh the winner's claim sets off does not wipe the loser's message...
    live = client_for(second_operator).get(f"/escalations/{queued.pk}/live/", **HX).content.decode()
    assert 'id="action-error"' not in live
    # ...while the loser's own next successful action clears it.
    reply = operator_client.post(f"/escalations/{queued.pk}/reply/", {"content": "On it."}, **HX)
    assert 'id="action-error" hx-swap-oob="true"' in reply.content.decode()


def test_the_detail_page_targets_the_error_slot_and_listens_to_its_own_escalation(queued, operator_client):
    html = operator_client.get(f"/escalations/{queued.pk}/").content.decode()
    assert f'ws-connect="/ws/escalations/?escalation={queued.pk}"' in html
    assert 'hx-target="#action-error"' in html and html.count('id="action-error"') == 1
