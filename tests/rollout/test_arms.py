"""The arm that serves a conversation: decided per user when it starts, recorded on it, used by
the browser chat and the API; the shadow runs the multi-agent system beside the legacy answer.
Celery runs eagerly here; tests/rollout/test_rollout_stack.py does the same through real processes."""

from __future__ import annotations

import pytest

from accounts.auth import api_token_create
from agents.models import AgentInstance, AgentTemplate
from conversations.models import Conversation, Handoff, ShadowPair
from conversations.selectors import conversation_for_socket, conversations_for_user
from rollout.decision import bucket
from rollout.models import FlagChange, Phase
from rollout.services import flag_override_set, flag_update

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("eager_tasks")]

HANDOFF = "@assistant: transfer architect needs a design || @architect: say designed it"


@pytest.fixture
def architect(account):
    assistant = AgentInstance.objects.get(account=account, slug="assistant")
    template = AgentTemplate.objects.create(slug="arm-kind", name="Arm kind")
    architect = AgentInstance.objects.create(
        account=account, template=template, slug="architect", name="Architect"
    )
    assistant.handoff_targets.set([architect])
    return architect


def _headers(user) -> dict:
    _, token = api_token_create(user=user, name="tests")
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def _chat(client, user, message: str, route: str = "/api/chat/message", **extra):
    return client.post(
        route, {"message": message, **extra}, content_type="application/json", **_headers(user)
    )


def _split(make_members, account, flag, percentage: float):
    """One member inside the bucket at ``percentage`` and one outside."""
    users = make_members(account, 12)
    inside = next(u for u in users if bucket(flag.hash_group, u.pk) <= percentage)
    outside = next(u for u in users if bucket(flag.hash_group, u.pk) > percentage)
    return inside, outside


def test_the_api_serves_each_user_by_their_arm(flag, account, architect, make_members, client):
    flag_update(flag=flag, account=account, actor=None, reason="half", source="command", phase=Phase.PARTIAL,
                override_gates=True)  # fmt: skip
    inside, outside = _split(make_members, account, flag, 50)

    served = _chat(client, inside, HANDOFF).json()
    assert (served["arm"], served["agent"], served["reply"]) == ("multi_agent", "architect", "designed it")
    assert served["handoffs"][0]["to_agent"] == "architect"
    conversation = Conversation.objects.get(pk=served["conversation_id"])
    assert (conversation.arm, conversation.routed) == ("multi_agent", True)

    legacy = _chat(client, outside, "@assistant: say the single agent answers").json()
    assert (legacy["arm"], legacy["agent"], legacy["reply"]) == (
        "legacy",
        "assistant",
        "the single agent answers",
    )
    conversation = Conversation.objects.get(pk=legacy["conversation_id"])
    assert (conversation.arm, conversation.routed) == ("legacy", False)
    # The legacy arm has no router and no hand-offs: a transfer is refused, the assistant answers.
    refused = _chat(client, outside, HANDOFF, conversation_id=conversation.pk).json()
    assert refused["agent"] == "assistant" and refused["handoffs"] == []
    assert not Handoff.objects.filter(conversation=conversation).exists()


def test_a_conversation_keeps_its_arm_when_the_flag_moves(flag, account, make_members, client):
    flag_update(flag=flag, account=account, actor=None, reason="all", source="command", phase=Phase.FULL,
                override_gates=True)  # fmt: skip
    user = make_members(account, 1)[0]
    first = _chat(client, user, "count=1").json()
    assert first["arm"] == "multi_agent"
    flag_update(flag=flag, account=account, actor=None, reason="incident", source="command", enabled=False)
    again = _chat(client, user, "count=2", conversation_id=first["conversation_id"]).json()
    assert again["arm"] == "multi_agent"  # the conversation was started on it
    assert _chat(client, user, "count=1").json()["arm"] == "legacy"  # a new one follows the kill switch


def test_the_browser_chat_starts_conversations_on_the_users_arm(flag, account, make_members, client):
    flag_update(flag=flag, account=account, actor=None, reason="half", source="command", phase=Phase.PARTIAL,
                override_gates=True)  # fmt: skip
    inside, outside = _split(make_members, account, flag, 50)
    for user, arm in ((inside, "multi_agent"), (outside, "legacy")):
        client.force_login(user)
        response = client.post("/chat/new/", {"message": "count=2"})
        assert response.status_code == 302
        conversation = Conversation.objects.filter(user=user).get()
        assert conversation.arm == arm
        page = client.get(response["Location"]).content.decode()
        assert "w1 w2" in page


def test_the_multi_agent_route_is_for_admins_and_overrides(flag, account, member, admin_user, client):
    response = _chat(client, member, "count=1", route="/api/chat/multi-agent/message")
    assert response.status_code == 403
    assert "account admins and users with an override" in response.json()["detail"]
    assert not Conversation.objects.exists()

    assert (
        _chat(client, admin_user, "count=1", route="/api/chat/multi-agent/message").json()["arm"]
        == "multi_agent"
    )
    flag_override_set(flag=flag, account=account, user=member, enabled=True, actor=admin_user, reason="pilot",
                      source="command")  # fmt: skip
    body = _chat(client, member, "count=1", route="/api/chat/multi-agent/message").json()
    assert body["arm"] == "multi_agent" and body["reply"] == "w1"

    # It always uses the multi-agent system: a legacy conversation is not continued there.
    flag_override_set(flag=flag, account=account, user=admin_user, enabled=False, actor=admin_user,
                      reason="see legacy", source="command")  # fmt: skip
    legacy = _chat(client, admin_user, "count=1").json()
    assert legacy["arm"] == "legacy"
    response = _chat(client, admin_user, "x", route="/api/chat/multi-agent/message",
                     conversation_id=legacy["conversation_id"])  # fmt: skip
    assert response.status_code == 409 and "/api/chat/message" in response.json()["detail"]


def test_shadow_serves_legacy_and_stores_the_multi_agent_answer_beside_it(
    flag, account, architect, member, client
):
    flag_update(
        flag=flag, account=account, actor=None, reason="compare", source="command", phase=Phase.SHADOW
    )
    body = _chat(client, member, HANDOFF).json()
    assert (body["arm"], body["agent"], body["handoffs"]) == ("legacy", "assistant", [])

    pair = ShadowPair.objects.select_related(
        "shadow_reply__agent", "legacy_reply", "shadow__conversation"
    ).get()
    assert pair.legacy_reply_id == body["message_id"] and pair.question.content == HANDOFF
    assert pair.shadow_reply.status == "complete" and pair.shadow_reply.content == "designed it"
    assert pair.shadow_reply.agent.slug == "architect" and pair.shadow_reply.latency_ms is not None
    hidden = pair.shadow.conversation
    assert (hidden.arm, hidden.routed, hidden.user_id) == ("multi_agent", True, member.pk)
    assert Handoff.objects.filter(conversation=hidden).count() == 1

    # The user never sees the shadow: not listed, not opened, not joined over a socket.
    assert list(conversations_for_user(account=account, user=member)) == [pair.shadow.served]
    assert conversation_for_socket(user=member, account_id=account.pk, pk=hidden.pk) is None
    client.force_login(member)
    assert client.get(f"/chat/{hidden.pk}/").status_code == 404

    # The next message of the conversation is shadowed in the same hidden conversation.
    _chat(client, member, "count=3", conversation_id=body["conversation_id"])
    assert ShadowPair.objects.filter(shadow=pair.shadow).count() == 2
    assert hidden.messages.filter(role="user").count() == 2

    # The Rollout page shows both answers side by side.
    member.is_staff = True  # staff may open the Rollout page
    member.save()
    page = client.get("/rollout/multi_agent/").content.decode()
    assert "designed it" in page and 'data-side="shadow"' in page


def test_a_shadow_failure_never_touches_the_served_answer(flag, account, member, client, monkeypatch, caplog):
    flag_update(
        flag=flag, account=account, actor=None, reason="compare", source="command", phase=Phase.SHADOW
    )

    def broken(**_kwargs):
        Conversation.objects.create(account=account, user=member)  # half-written, then it fails
        raise RuntimeError("shadow storage is down")

    monkeypatch.setattr("conversations.shadow._shadow_create", broken)
    body = _chat(client, member, "count=2").json()
    assert (body["arm"], body["status"], body["reply"]) == ("legacy", "complete", "w1 w2")
    assert not ShadowPair.objects.exists()
    assert Conversation.objects.count() == 1  # the half-written shadow was rolled back alone
    assert "could not start the shadow reply" in caplog.text


def test_users_outside_the_shadow_cohort_get_no_shadow(flag, account, make_members, client):
    flag_update(flag=flag, account=account, actor=None, reason="compare some", source="command",
                phase=Phase.SHADOW, percentage=30)  # fmt: skip
    inside, outside = _split(make_members, account, flag, 30)
    _chat(client, outside, "count=1")
    assert not ShadowPair.objects.exists()
    _chat(client, inside, "count=1")
    assert ShadowPair.objects.count() == 1
    assert FlagChange.objects.filter(action="update").count() == 1
