from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from agents.catalog.install import catalog_install_demo
from analytics.selectors.agents import agent_figures
from analytics.selectors.escalations import escalation_figures
from analytics.selectors.handoffs import handoff_figures
from analytics.windows import window_parse
from conversations.models import Conversation, Handoff, Message, Turn

pytestmark = pytest.mark.django_db


def test_generates_both_arms_with_handoffs_failures_and_feedback(account, member):
    catalog_install_demo(account=account)
    out = StringIO()
    call_command(
        "generate_traffic", "--conversations", "400", "--account", "acme", "--chunk", "150", stdout=out
    )
    conversations = Conversation.objects.filter(account=account)
    assert conversations.count() == 400
    arms = {arm: conversations.filter(arm=arm).count() for arm in ("legacy", "multi_agent")}
    assert 80 < arms["legacy"] < 160  # 30% by default
    # Every reply answers a user message and has a turn; hand-offs only in the multi-agent arm.
    replies = Message.objects.filter(conversation__account=account, role="assistant")
    assert replies.count() == Message.objects.filter(conversation__account=account, role="user").count()
    assert Turn.objects.filter(conversation__account=account).count() == replies.count()
    assert not Handoff.objects.filter(conversation__arm="legacy").exists()
    assert replies.filter(status="failed").exists() and replies.filter(feedback="up").exists()
    window = window_parse(window="30d")
    handoffs = handoff_figures(account=account, window=window)
    assert 0.05 < handoffs.rate < 0.5
    assert agent_figures(account=account, window=window).cost_usd > 0
    assert "400 conversations" in out.getvalue()
    escalations = escalation_figures(account=account, window=window)
    assert escalations.opened > 0 and escalations.phases[0].reached == escalations.opened


def test_synthetic_escalations_read_like_the_queue_they_fill(account, make_user):
    from accounts.models import Membership
    from escalations.models import Escalation

    catalog_install_demo(account=account)
    operator = make_user(account, role=Membership.Role.OPERATOR)
    call_command("generate_traffic", "--conversations", "400", "--account", "acme", stdout=StringIO())
    escalations = Escalation.objects.filter(account=account)
    assert escalations.exists()
    # Each carries the question that was asked, and whoever "claimed" one is a real operator.
    for escalation in escalations.select_related("message__reply_to"):
        assert escalation.question == escalation.message.reply_to.content
    claimed = escalations.filter(status="claimed")
    assert not claimed.filter(assignee=None).exists()
    assert set(claimed.values_list("assignee", flat=True)) <= {operator.pk}
    assert not escalations.exclude(first_response_at=None).filter(assignee=None).exists()


def test_refuses_bad_arguments(account):
    with pytest.raises(CommandError, match="no account 'nope'"):
        call_command("generate_traffic", "--conversations", "5", "--account", "nope")
    with pytest.raises(CommandError, match="at least 1"):
        call_command("generate_traffic", "--conversations", "0", "--account", "acme")
    with pytest.raises(CommandError, match="at least two other active agents"):
        call_command("generate_traffic", "--conversations", "5", "--account", "acme")
