"""The pages, CSV downloads and the conversation trail: who may see them, and only their account's data."""

import csv
import io
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import Membership
from analytics.rollups import rollups_refresh
from conversations.models import Conversation, Handoff

pytestmark = pytest.mark.django_db

SECTIONS = ["", "handoffs/", "routing/", "agents/", "cohorts/", "alerts/"]


def _recent_handoff(account, user, agents, *, minutes_ago: int = 30) -> Conversation:
    """A multi-agent conversation of ``account`` with one hand-off, inside every preset window."""
    from tests.analytics.conftest import Builder

    builder = Builder(account, user)
    at = timezone.now() - timedelta(minutes=minutes_ago)
    conversation = builder.conversation(arm="multi_agent", at=at, title=f"Recent {account.slug}")
    builder.turn(conversation, at=at, agent=agents["beta"], latency=1200, first_token=100, cost="0.5",
                 handoffs=[(agents["alpha"], agents["beta"], "tool")])  # fmt: skip
    rollups_refresh(account_id=account.pk)  # as beat does every minute
    return conversation


@pytest.mark.parametrize("section", SECTIONS)
def test_operators_see_every_section(operator_client, section):
    response = operator_client.get(f"/analytics/{section}")
    assert response.status_code == 200
    assert b"analytics-tabs" in response.content


def test_members_are_refused(member_client):
    response = member_client.get("/analytics/")
    assert response.status_code == 403
    assert b"operators and admins" in response.content
    assert member_client.get("/analytics/handoffs/paths.csv").status_code == 403


def test_the_nav_links_analytics_for_operators_only(operator_client, member_client):
    assert b'href="/analytics/"' in operator_client.get("/analytics/").content
    assert b'href="/analytics/"' not in member_client.get("/chat/").content


def test_a_page_shows_its_charts_with_their_numbers(dataset, operator_client):
    _recent_handoff(dataset.account, dataset.conversations["C1"].user, dataset.agents)
    page = operator_client.get("/analytics/handoffs/?window=24h").content.decode()
    assert 'data-chart="chart_paths-data"' in page
    assert '<script id="chart_paths-data" type="application/json">' in page
    assert '"from": "from:alpha", "to": "to:beta", "flow": 1' in page
    assert "<td>Alpha</td><td>Beta</td><td>1</td>" in page  # the same numbers as a table


def test_htmx_gets_only_the_section_body_for_the_new_window(dataset, operator_client):
    _recent_handoff(dataset.account, dataset.conversations["C1"].user, dataset.agents)
    response = operator_client.get("/analytics/handoffs/?window=30d", HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body and 'data-window="30d"' in body


def test_a_bad_window_is_a_400_that_says_why(operator_client):
    response = operator_client.get("/analytics/?window=custom&start=2026-06-05&end=2026-06-01")
    assert response.status_code == 400
    assert b"The end must be after the start." in response.content
    partial = operator_client.get("/analytics/?window=90d", HTTP_HX_REQUEST="true")
    assert partial.status_code == 400 and b"Unknown window" in partial.content


def test_unknown_sections_and_tables_are_404(operator_client):
    assert operator_client.get("/analytics/nothing/").status_code == 404
    assert operator_client.get("/analytics/handoffs/nothing.csv").status_code == 404


def test_csv_download_of_a_table(dataset, operator_client):
    _recent_handoff(dataset.account, dataset.conversations["C1"].user, dataset.agents)
    response = operator_client.get("/analytics/handoffs/paths.csv?window=24h")
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith('attachment; filename="acme-handoffs-paths-')
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows == [["from_agent", "to_agent", "handoffs"], ["alpha", "beta", "1"]]
    bad = operator_client.get("/analytics/handoffs/paths.csv?window=1y")
    assert bad.status_code == 400 and b"Unknown window" in bad.content


def test_pages_and_csv_show_only_the_current_accounts_data(dataset, noise, operator_client, other_account):
    ours = _recent_handoff(dataset.account, dataset.conversations["C1"].user, dataset.agents)
    theirs = _recent_handoff(other_account, noise.conversations["C1"].user, noise.agents, minutes_ago=5)
    Handoff.objects.create(
        conversation=theirs, turn=theirs.turns.get(), from_agent=noise.agents["gamma"],
        to_agent=noise.agents["alpha"], reason="r", via="tool",
    )  # fmt: skip
    page = operator_client.get("/analytics/handoffs/?window=24h").content.decode()
    assert ours.title in page and theirs.title not in page
    assert "<td>Gamma</td><td>Alpha</td>" not in page
    rows = operator_client.get("/analytics/handoffs/busiest.csv?window=24h").content.decode()
    assert str(ours.pk) in rows and theirs.title not in rows


def test_another_accounts_conversation_trail_is_404(dataset, noise, operator_client):
    ours = dataset.conversations["C1"]
    assert operator_client.get(f"/analytics/conversations/{ours.pk}/").status_code == 200
    theirs = noise.conversations["C1"]
    assert operator_client.get(f"/analytics/conversations/{theirs.pk}/").status_code == 404


def test_the_account_switcher_changes_whose_figures_are_shown(
    dataset, noise, make_user, account, other_account
):
    user = make_user(account, role=Membership.Role.OPERATOR, username="both")
    Membership.objects.create(user=user, account=other_account, role=Membership.Role.MEMBER)
    client = Client()
    client.force_login(user)
    assert client.get("/analytics/").status_code == 200
    client.post("/accounts/switch/", {"account": other_account.slug})
    assert client.get("/analytics/").status_code == 403  # a member there, not an operator
