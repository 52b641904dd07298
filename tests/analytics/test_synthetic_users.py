"""Synthetic traffic belongs to synthetic users who cannot log in, never to a person, and no
synthetic row is dated after the moment it was generated."""

from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.utils import timezone

from agents.catalog.install import catalog_install_demo
from analytics.demo import analytics_demo_seed
from analytics.models import TrafficBatch
from analytics.traffic import synthetic_traffic_rehome
from conversations.models import Conversation, GuardrailEvent, Handoff, Message, ToolCall, Turn
from conversations.selectors import conversations_for_user
from escalations.models import Escalation, PhaseRun

pytestmark = pytest.mark.django_db


def test_generated_conversations_belong_to_synthetic_users_not_to_members(account, member):
    catalog_install_demo(account=account)
    call_command("generate_traffic", "--conversations", "200", "--account", "acme", stdout=StringIO())
    assert Conversation.objects.filter(account=account).count() == 200
    assert not conversations_for_user(account=account, user=member).exists()
    owners = get_user_model().objects.filter(conversations__account=account).distinct()
    assert owners.count() > 1
    for owner in owners:
        assert owner.username.startswith("synthetic-acme-")
        assert not owner.has_usable_password() and not owner.is_active
        assert not owner.memberships.exists()  # no cohort, bucket or member list counts them


def test_no_synthetic_row_is_dated_after_now(account, make_user):
    from accounts.models import Membership

    catalog_install_demo(account=account)
    make_user(account, role=Membership.Role.OPERATOR)
    now = timezone.now()
    # The demo's "busy last hour": many conversations of several turns started minutes ago.
    call_command(
        "generate_traffic", "--conversations", "300", "--account", "acme", "--days", "0.05", stdout=StringIO()
    )
    after = timezone.now()
    columns = {
        Conversation: ["created_at", "updated_at"],
        Message: ["created_at", "updated_at", "completed_at", "feedback_at"],
        Turn: ["created_at", "updated_at"],
        Handoff: ["created_at"],
        GuardrailEvent: ["created_at"],
        ToolCall: ["created_at", "finished_at"],
        Escalation: ["created_at", "queued_at", "claimed_at", "first_response_at", "resolved_at"],
        PhaseRun: ["started_at", "finished_at"],
    }
    assert Conversation.objects.filter(account=account, created_at__gte=now - timedelta(hours=2)).exists()
    for model, fields in columns.items():
        for name in fields:
            late = model.objects.filter(**{f"{name}__gt": after})
            assert not late.exists(), f"{model.__name__}.{name} in the future: {late.first()}"


def test_seeding_again_hands_old_synthetic_conversations_over_and_keeps_real_ones(account, member):
    catalog_install_demo(account=account)
    real = Conversation.objects.create(account=account, user=member, title="My real question")
    question = Message.objects.create(conversation=real, role="user", content="How do I reset my VPN?")
    Message.objects.create(conversation=real, role="assistant", content="Like this.", reply_to=question)
    call_command("generate_traffic", "--conversations", "50", "--account", "acme", stdout=StringIO())
    # As traffic was written before synthetic users existed: owned by the member, some in the future.
    synthetic = Conversation.objects.filter(account=account).exclude(pk=real.pk)
    synthetic.update(user=member)
    future = timezone.now() + timedelta(minutes=7)
    synthetic.filter(pk=synthetic.first().pk).update(updated_at=future)
    assert TrafficBatch.objects.filter(account=account).exists()

    analytics_demo_seed(account=account)

    assert list(conversations_for_user(account=account, user=member)) == [real]
    assert not Conversation.objects.filter(account=account, updated_at__gt=timezone.now()).exists()
    assert synthetic_traffic_rehome(account=account) == 0  # idempotent
    assert Conversation.objects.filter(account=account).count() == 51
