"""The escalation policy and learned patterns in Django admin."""

import pytest
from django.test import Client

from escalations.models import LearnedPattern
from escalations.services import policy_for_account

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(admin_user):
    admin_user.is_staff = admin_user.is_superuser = True
    admin_user.save()
    client = Client()
    client.force_login(admin_user)
    return client


def test_a_policy_offers_only_its_own_accounts_agents(staff_client, account, other_account, agents):
    policy = policy_for_account(account_id=account.pk)
    page = staff_client.get(f"/admin/escalations/escalationpolicy/{policy.pk}/change/").content.decode()
    assert "Alpha" in page and other_account.agents.first().name + " (globex)" not in page


def test_a_policy_refuses_bad_thresholds(staff_client, account):
    policy = policy_for_account(account_id=account.pk)
    response = staff_client.post(
        f"/admin/escalations/escalationpolicy/{policy.pk}/change/",
        {
            "account": account.pk, "quick_fix_enabled": "on", "quick_fix_threshold": "1.5",
            "research_threshold": "0.7", "consultation_required_votes": "1",
            "first_response_sla_minutes": "30", "resolution_sla_minutes": "480",
        },
    )  # fmt: skip
    assert response.status_code == 200
    assert "A threshold is between 0 and 1." in response.content.decode()
    assert "Choose 2 (two of three agree) or 3 (all three)." in response.content.decode()
    policy.refresh_from_db()
    assert policy.quick_fix_threshold == 0.75


def test_an_admin_approves_patterns_from_the_list(staff_client, account):
    pattern = LearnedPattern.objects.create(account=account, problem="p", fix="f")
    staff_client.post(
        "/admin/escalations/learnedpattern/", {"action": "approve", "_selected_action": [pattern.pk]}
    )
    pattern.refresh_from_db()
    assert pattern.status == "approved"
