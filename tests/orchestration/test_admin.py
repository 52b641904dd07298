"""Capabilities are edited in admin, inline on the agent and on their own; runs are read-only."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from orchestration.models import AgentCapability
from orchestration.services import run_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(db) -> Client:
    user = get_user_model().objects.create_superuser(username="root", password="x-password-1")
    client = Client()
    client.force_login(user)
    return client


def test_capabilities_are_inline_on_the_agent_admin(admin_client, trio):
    AgentCapability.objects.create(agent=trio[0], name="vendor_research", estimated_seconds=12)
    page = admin_client.get(f"/admin/agents/agentinstance/{trio[0].pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="capabilities-TOTAL_FORMS"' in html and "vendor_research" in html


def test_a_capability_with_a_negative_estimate_is_refused(admin_client, trio):
    response = admin_client.post(
        "/admin/orchestration/agentcapability/add/",
        {"agent": trio[0].pk, "name": "plan", "description": "", "input_type": "text", "output_type": "text",
         "estimated_seconds": "-1", "cost_estimate_usd": "0", "priority": "10"},
    )  # fmt: skip
    assert response.status_code == 200
    assert "The estimated time cannot be negative." in response.content.decode()
    assert not AgentCapability.objects.exists()


def test_runs_are_read_only_in_admin(admin_client, account, trio):
    run = run_create(account=account, mode="parallel", tasks=[{"agent": "alpha", "input": "x"}])
    page = admin_client.get(f"/admin/orchestration/workflowrun/{run.pk}/change/")
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    assert admin_client.get("/admin/orchestration/workflowrun/add/").status_code == 403
