import pytest
from django.test import Client

from agents.models import AgentInstance, AgentTemplate

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(make_user, account):
    user = make_user(account, username="root")
    user.is_staff = user.is_superuser = True
    user.save()
    client = Client()
    client.force_login(user)
    return client


def test_admin_shows_config_schema_errors_next_to_the_field(staff_client, account):
    template = AgentTemplate.objects.create(
        slug="strict",
        name="Strict",
        config_schema={"type": "object", "properties": {"max_results": {"type": "integer", "maximum": 50}}},
    )
    response = staff_client.post(
        "/admin/agents/agentinstance/add/",
        {
            "account": account.pk, "template": template.pk, "slug": "bad", "name": "Bad",
            "config": '{"max_results": 500}', "routing_examples": "[]", "step_limit": 10, "status": "active",
        },
    )  # fmt: skip
    assert response.status_code == 200  # the form comes back, not a redirect
    assert "max_results: 500 is greater than the maximum of 50" in response.content.decode()
    assert not AgentInstance.objects.filter(slug="bad").exists()


def test_admin_lists_the_audit_records(staff_client):
    for path in ("approval", "toolcall", "handoff", "guardrailevent"):
        assert staff_client.get(f"/admin/conversations/{path}/").status_code == 200
