"""The chat API. Celery runs tasks eagerly here, in the request, so one process
can check the response contract; tests/e2e/test_api_stack.py sends the same
requests through daphne and a real worker."""

import pytest

from agents.catalog.install import tools_install
from agents.models import AgentInstance, AgentTemplate, Ticket
from conversations.models import Conversation

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("eager_tasks")]

GATED = '@fixer: tool ticket_create {"title": "API ticket"}; say filed'


@pytest.fixture
def agents(account):
    tools = tools_install()
    assistant = AgentInstance.objects.get(account=account, slug="assistant")
    template = AgentTemplate.objects.create(slug="api-kind", name="API kind")
    fixer = AgentInstance.objects.create(account=account, template=template, slug="fixer", name="Fixer")
    fixer.tools.set([tools["ticket_create"]])
    assistant.handoff_targets.set([fixer])
    return assistant, fixer


@pytest.fixture
def member_api(api_client_for, member):
    return api_client_for(member)


def test_routed_chat_returns_the_reply_agent_and_handoffs(admin_api, agents):
    response = admin_api.post(
        "/api/chat/multi-agent/message",
        {"message": "@assistant: transfer fixer needs hands || @fixer: say on it"},
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "complete" and body["reply"] == "on it" and body["agent"] == "fixer"
    assert body["handoffs"] == [
        {"from_agent": "assistant", "to_agent": "fixer", "reason": "needs hands", "via": "tool"}
    ]
    assert body["pending_approval"] is None
    follow_up = admin_api.post(
        "/api/chat/multi-agent/message", {"message": "count=2", "conversation_id": body["conversation_id"]}
    ).json()
    assert follow_up["conversation_id"] == body["conversation_id"] and follow_up["reply"] == "w1 w2"


def test_chat_with_one_agent_then_approve_over_the_api(member_api, agents):
    response = member_api.post("/api/accounts/acme/agents/fixer/chat", {"message": GATED})
    body = response.json()
    assert body["status"] == "awaiting_approval" and body["agent"] == "fixer"
    pending = body["pending_approval"]
    assert pending["tool"] == "ticket_create" and pending["arguments"] == {"title": "API ticket"}
    assert not Ticket.objects.exists()
    assert Conversation.objects.get(pk=body["conversation_id"]).routed is False

    decided = member_api.post(f"/api/approvals/{pending['id']}", {"decision": "approve"})
    assert decided.status_code == 200
    assert decided.json()["status"] == "complete" and decided.json()["reply"] == "filed"
    assert Ticket.objects.get().title == "API ticket"

    replay = member_api.post(f"/api/approvals/{pending['id']}", {"decision": "approve"})
    assert replay.status_code == 409
    assert Ticket.objects.count() == 1


def test_deny_over_the_api(member_api, agents):
    pending = member_api.post("/api/accounts/acme/agents/fixer/chat", {"message": GATED}).json()[
        "pending_approval"
    ]
    body = member_api.post(f"/api/approvals/{pending['id']}", {"decision": "deny"}).json()
    assert body["status"] == "complete"
    assert not Ticket.objects.exists()


def test_bad_input_is_a_400_with_the_field(member_api, admin_api, agents):
    response = admin_api.post("/api/chat/multi-agent/message", {"message": ""})
    assert response.status_code == 400
    assert "Type a message" in str(response.json())
    response = member_api.post("/api/approvals/1", {"decision": "maybe"})
    assert response.status_code == 400 and "decision" in response.json()["errors"]


def test_the_chat_api_needs_a_token(agents):
    from tests.api.conftest import ApiClient

    assert ApiClient().post("/api/chat/multi-agent/message", {"message": "hi"}).status_code == 401


def test_another_account_gets_404_on_every_chat_route(member_api, api_client_for, outsider, agents):
    pending = member_api.post("/api/accounts/acme/agents/fixer/chat", {"message": GATED}).json()
    intruder = api_client_for(outsider)
    assert intruder.post("/api/accounts/acme/agents/fixer/chat", {"message": "hi"}).status_code == 404
    routed = intruder.post(
        "/api/chat/multi-agent/message", {"message": "hi", "conversation_id": pending["conversation_id"]}
    )
    assert routed.status_code == 404
    assert (
        intruder.post("/api/chat/multi-agent/message", {"message": "hi", "account": "acme"}).status_code
        == 404
    )
    approval = pending["pending_approval"]["id"]
    assert intruder.post(f"/api/approvals/{approval}", {"decision": "approve"}).status_code == 404
    assert not Ticket.objects.exists()


def test_an_agent_chat_cannot_continue_a_routed_conversation(member_api, agents):
    routed = member_api.post("/api/chat/message", {"message": "count=1"}).json()
    assert routed["arm"] == "multi_agent"  # no rollout flag configured: the shipped system serves
    response = member_api.post(
        "/api/accounts/acme/agents/fixer/chat",
        {"message": "hi", "conversation_id": routed["conversation_id"]},
    )
    assert response.status_code == 404
