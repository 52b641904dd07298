"""The aggregates the pages read are kept up to date by beat: new traffic, and feedback given
later on an old reply, both show after a refresh."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from analytics.models import ConversationFact, RollupState
from analytics.rollups import bins_percentile, latency_bin, rollups_refresh
from analytics.selectors.agents import agent_figures
from analytics.selectors.handoffs import handoff_figures
from analytics.windows import Window
from config.celery import app as celery_app
from conversations.models import Message
from tests.analytics.conftest import NOW, WINDOW, Builder

pytestmark = pytest.mark.django_db


def test_feedback_given_later_on_an_old_reply_is_counted_after_a_refresh(dataset):
    assert agent_figures(account=dataset.account, window=WINDOW).thumbs_up == 3
    reply = dataset.conversations["C5"].messages.get(role="assistant")  # 4 days before NOW
    Message.objects.filter(pk=reply.pk).update(feedback="down", feedback_at=NOW + timedelta(days=2))
    rollups_refresh(account_id=dataset.account.pk, now=NOW + timedelta(days=2, minutes=1))
    f = agent_figures(account=dataset.account, window=WINDOW)
    assert (f.thumbs_up, f.thumbs_down) == (2, 2)
    assert ConversationFact.objects.get(conversation=dataset.conversations["C5"]).thumbs_down == 1


def test_new_traffic_shows_after_the_refresh_beat_runs(dataset):
    builder = Builder(dataset.account, dataset.conversations["C1"].user)
    at = timezone.now() - timedelta(minutes=10)
    conversation = builder.conversation(arm="multi_agent", at=at, title="New")
    agents = dataset.agents
    builder.turn(conversation, at=at, agent=agents["gamma"], latency=800,
                 handoffs=[(agents["beta"], agents["gamma"], "tool")])  # fmt: skip
    last_hour = Window(at.replace(minute=0, second=0, microsecond=0), at + timedelta(hours=1), "custom")
    assert handoff_figures(account=dataset.account, window=last_hour).handoffs == 0  # not refreshed yet

    from analytics.tasks import refresh_rollups

    celery_app.conf.task_always_eager = True
    try:
        assert refresh_rollups() == 1  # one task per account with conversations: acme
    finally:
        celery_app.conf.task_always_eager = False
    assert handoff_figures(account=dataset.account, window=last_hour).handoffs == 1
    assert RollupState.objects.get(account=dataset.account).refreshed_at > at
    assert (
        settings.CELERY_BEAT_SCHEDULE["refresh-analytics-rollups"]["task"]
        == "analytics.tasks.refresh_rollups"
    )


def test_percentiles_from_histograms_are_within_their_bin():
    values = [120, 450, 900, 1000, 1000, 2300, 2400, 5000, 12000, 60000]
    bins: dict[int, int] = {}
    for value in values:
        bins[latency_bin(value)] = bins.get(latency_bin(value), 0) + 1
    # Nearest rank: the 5th and the 10th of ten.
    assert bins_percentile(bins, 0.5) == pytest.approx(1000, rel=0.025)
    assert bins_percentile(bins, 0.95) == pytest.approx(60000, rel=0.025)
    assert bins_percentile({}, 0.5) is None
