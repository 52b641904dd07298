"""The escalations JSON API: operators only, account-scoped, and the same conflicts and
validation as the queue pages."""

import pytest

from accounts.auth import api_token_create
from escalations.triggers import reply_inspect
from tests.api.conftest import ApiClient
from tests.escalations.conftest import chat_turn, climb

pytestmark = pytest.mark.django_db(transaction=True)


def _api(user) -> ApiClient:
    return ApiClient(api_token_create(user=user, name="test")[1])


@pytest.fixture
def queued(account, member, agents, operator):
    reply = chat_turn(account, member, "@assistant: say I don't know. Let me talk to a person")
    return climb(reply_inspect(reply_id=reply.pk))


def test_operators_work_the_queue_over_the_api(queued, operator, second_operator):
    api = _api(operator)
    listed = api.get("/api/accounts/acme/escalations").json()
    assert [e["id"] for e in listed] == [queued.pk] and listed[0]["status"] == "open"
    assert api.get("/api/accounts/acme/escalation-queue").json()["open"] == 1
    detail = api.get(f"/api/accounts/acme/escalations/{queued.pk}").json()
    assert [p["phase"] for p in detail["phases"]] == ["human"]
    assert api.post(f"/api/accounts/acme/escalations/{queued.pk}/claim").json()["assignee"] == "olivia"
    taken = _api(second_operator).post(f"/api/accounts/acme/escalations/{queued.pk}/claim")
    assert taken.status_code == 409 and "olivia has already claimed" in taken.json()["detail"]
    assert api.post(f"/api/accounts/acme/escalations/{queued.pk}/reply", {"content": ""}).status_code == 400
    sent = api.post(f"/api/accounts/acme/escalations/{queued.pk}/reply", {"content": "On it."})
    assert sent.status_code == 201 and sent.json()["conversation_id"] == queued.conversation_id
    resolved = api.post(f"/api/accounts/acme/escalations/{queued.pk}/resolve", {"note": "Explained."})
    assert resolved.json()["status"] == "resolved"
    promoted = api.post(f"/api/accounts/acme/escalations/{queued.pk}/promote")
    assert promoted.status_code == 201 and promoted.json()["status"] == "draft"


def test_members_get_403_and_other_accounts_404(queued, member, outsider):
    assert _api(member).get("/api/accounts/acme/escalations").status_code == 403
    assert _api(member).post(f"/api/accounts/acme/escalations/{queued.pk}/claim").status_code == 403
    assert _api(outsider).get("/api/accounts/acme/escalations").status_code == 404
    assert _api(outsider).get(f"/api/accounts/acme/escalations/{queued.pk}").status_code == 404
    from accounts.models import Membership

    Membership.objects.filter(user=outsider).update(role="operator")
    assert _api(outsider).get(f"/api/accounts/globex/escalations/{queued.pk}").status_code == 404
    assert _api(outsider).post(f"/api/accounts/globex/escalations/{queued.pk}/claim").status_code == 404
    queued.refresh_from_db()
    assert queued.assignee is None


def test_escalating_by_hand_validates_its_input(queued, operator, account, member):
    api = _api(operator)
    bad = api.post("/api/accounts/acme/escalations", {"conversation_id": 999999, "reason": "x"})
    assert bad.status_code == 400 and "conversation" in bad.json()["errors"]
    assert api.post("/api/accounts/acme/escalations", {"reason": "x"}).status_code == 400
    reply = chat_turn(account, member, "hello")
    made = api.post(
        "/api/accounts/acme/escalations", {"conversation_id": reply.conversation_id, "reason": "VIP"}
    )
    assert made.status_code == 201 and made.json()["trigger"] == "manual"
