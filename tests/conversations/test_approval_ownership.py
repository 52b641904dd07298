"""An approval belongs to the user whose conversation asked for it: nobody else (another
member, an operator or an admin of the account, a user of another account) can decide it, on
the card or over the API, and they cannot tell it from an approval that does not exist.

Celery runs eagerly here, so a decision resumes the turn in the request, as a worker would."""

from __future__ import annotations

import uuid

import pytest
from django.http import Http404
from django.test import Client

from accounts.auth import api_token_create
from accounts.models import Membership
from agents.catalog.install import tools_install
from agents.models import AgentInstance, AgentTemplate, LiveSystemConnection, Ticket
from conversations.models import Approval, Conversation, Message, ToolCall
from conversations.replies import reply_generate
from conversations.services import ApprovalNotFound, approval_decide, conversation_start, message_send

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("eager_tasks")]

LIVE_CALL = '@fixer: tool live_system_request {"method": "POST", "path": "/restart"}; say restarted'
TICKET = '@fixer: tool ticket_create {"title": "Printer on fire"}; say filed'
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def fixer(account) -> AgentInstance:
    tools = tools_install()
    template = AgentTemplate.objects.create(slug="owner-kind", name="Owner kind")
    agent = AgentInstance.objects.create(account=account, template=template, slug="fixer", name="Fixer")
    agent.tools.set([tools["ticket_create"], tools["live_system_request"]])
    LiveSystemConnection.objects.create(account=account, base_url="http://live.example.test")
    return agent


@pytest.fixture
def others(make_user, account, outsider) -> dict:
    """Everyone who is not the owner, by who they are."""
    return {
        "another member": make_user(account, username="bob"),
        "an operator": make_user(account, role=Membership.Role.OPERATOR, username="olga"),
        "an admin": make_user(account, role=Membership.Role.ADMIN, username="ada"),
        "a user of another account": outsider,
    }


def _pending(account, member, fixer, script: str) -> Approval:
    """The owner's conversation with the fixer, paused on its gated call."""
    conversation = conversation_start(account=account, user=member, agent=fixer)
    _, reply = message_send(conversation=conversation, user=member, content=script)
    reply_generate(message_id=reply.pk)
    reply.refresh_from_db()
    assert reply.status == Message.Status.AWAITING_APPROVAL
    return Approval.objects.select_related("conversation", "tool_call").get()


def _api(user) -> Client:
    _, token = api_token_create(user=user, name="tests")
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}")


def _decide_api(client: Client, approval_id, decision: str = "approve"):
    return client.post(
        f"/api/approvals/{approval_id}", {"decision": decision}, content_type="application/json"
    )


def test_nobody_but_the_owner_decides_over_the_api(account, member, fixer, others, live_calls):
    approval = _pending(account, member, fixer, LIVE_CALL)
    unknown = _decide_api(_api(member), uuid.uuid4())
    assert unknown.status_code == 404
    for who, user in others.items():
        for decision in ("approve", "deny"):
            response = _decide_api(_api(user), approval.public_id, decision)
            assert (response.status_code, response.json()) == (404, unknown.json()), who
    approval.refresh_from_db()
    assert (approval.decision, approval.decided_by, approval.decided_at) == ("pending", None, None)
    assert live_calls == []  # the live system was never called
    assert ToolCall.objects.get().status == ToolCall.Status.AWAITING_APPROVAL

    response = _decide_api(_api(member), approval.public_id)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "complete" and body["reply"] == "restarted"
    assert live_calls == [("POST", "http://live.example.test/restart")]
    approval.refresh_from_db()
    assert approval.decision == "approved" and approval.decided_by == member
    assert approval.decided_at is not None


def test_nobody_but_the_owner_decides_on_the_card(account, member, fixer, others, make_user):
    approval = _pending(account, member, fixer, TICKET)
    conversation = approval.conversation
    card_url = f"/chat/{conversation.pk}/approvals/{approval.public_id}/"
    for who, user in others.items():
        client = Client()
        client.force_login(user)
        assert client.post(card_url, {"decision": "approve"}, **HTMX).status_code == 404, who
        # Nor through a conversation of their own, where the card would be theirs to press.
        own = conversation_start(account=user.memberships.first().account, user=user)
        own_url = f"/chat/{own.pk}/approvals/{approval.public_id}/"
        assert client.post(own_url, {"decision": "approve"}, **HTMX).status_code == 404, who
    approval.refresh_from_db()
    assert approval.decision == "pending"
    assert Ticket.objects.count() == 0

    owner = Client()
    owner.force_login(member)
    response = owner.post(card_url, {"decision": "approve"}, **HTMX)
    assert response.status_code == 200
    assert Ticket.objects.get().title == "Printer on fire"
    assert Message.objects.get(conversation=conversation, role="assistant").content == "filed"
    # The card is gone from the re-rendered reply, which names who approved.
    assert "approval-card" not in response.content.decode()
    assert f"approved by {member.get_username()}" in response.content.decode()


def test_the_service_refuses_anyone_but_the_owner(account, member, fixer, others, live_calls):
    approval = _pending(account, member, fixer, LIVE_CALL)
    for who, user in others.items():
        with pytest.raises(ApprovalNotFound):
            approval_decide(approval=approval, user=user, approve=True)
        assert issubclass(ApprovalNotFound, Http404), who  # the same answer as no such approval
    approval.refresh_from_db()
    assert approval.decision == "pending" and live_calls == []


def test_an_owner_who_left_the_account_can_no_longer_decide(account, member, fixer, live_calls):
    approval = _pending(account, member, fixer, LIVE_CALL)
    Membership.objects.filter(user=member, account=account).delete()
    assert _decide_api(_api(member), approval.public_id).status_code == 404
    with pytest.raises(ApprovalNotFound):
        approval_decide(approval=approval, user=member, approve=True)
    assert live_calls == []


def test_the_chat_response_and_the_card_carry_the_uuid_not_the_integer_id(account, member, fixer):
    body = (
        _api(member)
        .post("/api/accounts/acme/agents/fixer/chat", {"message": TICKET}, content_type="application/json")
        .json()
    )
    approval = Approval.objects.get()
    assert body["pending_approval"]["id"] == str(approval.public_id)
    owner = Client()
    owner.force_login(member)
    page = owner.get(f"/chat/{body['conversation_id']}/").content.decode()
    assert f'data-approval-id="{approval.public_id}"' in page
    assert f"/approvals/{approval.public_id}/" in page


def test_an_integer_id_no_longer_resolves(account, member, fixer):
    approval = _pending(account, member, fixer, TICKET)
    assert _decide_api(_api(member), approval.pk).status_code == 404
    assert _decide_api(_api(member), "not-a-uuid").status_code == 404
    owner = Client()
    owner.force_login(member)
    card = f"/chat/{approval.conversation_id}/approvals/{approval.pk}/"
    assert owner.post(card, {"decision": "approve"}, **HTMX).status_code == 404
    approval.refresh_from_db()
    assert approval.decision == "pending" and Ticket.objects.count() == 0


def test_a_decision_cannot_be_replayed(account, member, fixer):
    approval = _pending(account, member, fixer, TICKET)
    api = _api(member)
    assert _decide_api(api, approval.public_id).status_code == 200
    assert _decide_api(api, approval.public_id).status_code == 409
    assert _decide_api(api, approval.public_id, "deny").status_code == 409
    owner = Client()
    owner.force_login(member)
    card = f"/chat/{approval.conversation_id}/approvals/{approval.public_id}/"
    assert owner.post(card, {"decision": "deny"}, **HTMX).status_code == 409
    assert Ticket.objects.count() == 1
    approval.refresh_from_db()
    assert approval.decision == "approved"


def test_an_approval_of_a_hidden_run_cannot_be_decided_even_by_its_user(account, member, fixer, live_calls):
    """Left over from before hidden runs stopped asking: their user never saw the card."""
    approval = _pending(account, member, fixer, LIVE_CALL)
    Conversation.objects.filter(pk=approval.conversation_id).update(purpose=Conversation.Purpose.SHADOW)
    approval.conversation.refresh_from_db()
    assert _decide_api(_api(member), approval.public_id).status_code == 404
    with pytest.raises(ApprovalNotFound):
        approval_decide(approval=approval, user=member, approve=True)
    approval.refresh_from_db()
    assert approval.decision == "pending" and live_calls == []
