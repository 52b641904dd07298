"""The operator queue over HTTP: who may see it, claims under contention, assign, reply,
resolve, promote, and the learning loop that answers the next similar request at Phase 1."""

import threading

import pytest
from django.db import connections

from accounts.models import Membership
from conversations.models import Message
from escalations.models import Escalation, LearnedPattern
from escalations.patterns import text_similarity
from escalations.services import EscalationConflict, escalation_claim, policy_for_account
from escalations.triggers import reply_inspect
from tests.escalations.conftest import chat_turn, client_for, climb

pytestmark = pytest.mark.django_db(transaction=True)

HX = {"HTTP_HX_REQUEST": "true"}
QUESTION = "The badge reader at the Lisbon office rejects my new badge, what do I do?"


@pytest.fixture
def queued(account, member, agents, operator):
    """An escalation that climbed the whole ladder and waits for a person."""
    policy = policy_for_account(account_id=account.pk)
    policy.research_enabled = policy.consultation_enabled = False
    policy.save()
    reply = chat_turn(account, member, f"{QUESTION} || @assistant: say I don't know.")
    escalation = climb(reply_inspect(reply_id=reply.pk))
    assert escalation.status == "open"
    return escalation


@pytest.fixture
def foreign(other_account, make_user):
    """An escalation of another account, in the queue."""
    user = make_user(other_account)
    reply = chat_turn(other_account, user, "@assistant: say I don't know. I want to talk to a human")
    return climb(reply_inspect(reply_id=reply.pk))


def test_the_queue_is_for_operators_and_admins(queued, member_client, operator_client, admin_user):
    assert member_client.get("/escalations/").status_code == 403
    assert member_client.get(f"/escalations/{queued.pk}/").status_code == 403
    assert member_client.post(f"/escalations/{queued.pk}/claim/").status_code == 403
    page = operator_client.get("/escalations/")
    assert page.status_code == 200 and f'id="escalation-row-{queued.pk}"' in page.content.decode()
    assert client_for(admin_user).get(f"/escalations/{queued.pk}/").status_code == 200
    assert 'href="/escalations/"' in operator_client.get("/chat/").content.decode()
    assert 'href="/escalations/"' not in member_client.get("/chat/").content.decode()


def test_another_accounts_escalations_are_not_found_anywhere(queued, foreign, operator_client):
    assert (
        f"escalation-row-{foreign.pk}" not in operator_client.get("/escalations/?status=all").content.decode()
    )
    for url in ["", "live/", "claim/", "assign/", "reply/", "resolve/", "promote/"]:
        method = operator_client.get if url in ("", "live/") else operator_client.post
        assert method(f"/escalations/{foreign.pk}/{url}", {"content": "x", "note": "x"}).status_code == 404, (
            url
        )
    foreign.refresh_from_db()
    assert foreign.assignee is None and foreign.status == "open"
    assert not Message.objects.filter(conversation=foreign.conversation, sent_by__isnull=False).exists()


def test_filters_by_status_priority_and_age(queued, operator_client):
    table = operator_client.get("/escalations/table/").content.decode()
    assert 'id="queue-stats"' in table and 'hx-swap-oob="true"' in table  # the counts refresh with the rows
    assert f"row-{queued.pk}" in operator_client.get("/escalations/table/?status=open").content.decode()
    assert (
        f"row-{queued.pk}" not in operator_client.get("/escalations/table/?status=claimed").content.decode()
    )
    assert f"row-{queued.pk}" not in operator_client.get("/escalations/table/?priority=4").content.decode()
    assert (
        f"row-{queued.pk}"
        in operator_client.get(f"/escalations/table/?priority={queued.priority}").content.decode()
    )
    assert f"row-{queued.pk}" not in operator_client.get("/escalations/table/?older_than=1h").content.decode()


def test_an_sla_breach_is_highlighted(queued, operator_client):
    from datetime import timedelta

    from django.utils import timezone

    Escalation.objects.filter(pk=queued.pk).update(
        first_response_due_at=timezone.now() - timedelta(minutes=5)
    )
    html = operator_client.get("/escalations/").content.decode()
    assert "row-breached" in html and 'data-sla="breached"' in html
    assert '<dd data-stat="sla_breaches">1</dd>' in html


def test_concurrent_claims_have_exactly_one_winner(queued, make_user, account):
    operators = [make_user(account, role=Membership.Role.OPERATOR) for _ in range(6)]
    barrier = threading.Barrier(len(operators))
    outcomes: dict[str, str] = {}

    def claim(user):
        try:
            barrier.wait()
            escalation_claim(escalation=Escalation.objects.get(pk=queued.pk), user=user)
            outcomes[user.username] = "won"
        except EscalationConflict as error:
            outcomes[user.username] = error.messages[0]
        finally:
            connections.close_all()

    threads = [threading.Thread(target=claim, args=(u,)) for u in operators]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [name for name, outcome in outcomes.items() if outcome == "won"]
    assert len(winners) == 1
    queued.refresh_from_db()
    assert queued.assignee.username == winners[0] and queued.status == "claimed"
    losers = [outcome for outcome in outcomes.values() if outcome != "won"]
    assert losers and all(f"{winners[0]} has already claimed" in o for o in losers)


def test_a_second_claim_over_http_says_who_has_it(queued, operator_client, second_operator):
    assert operator_client.post(f"/escalations/{queued.pk}/claim/", **HX).status_code == 200
    late = client_for(second_operator).post(f"/escalations/{queued.pk}/claim/", **HX)
    assert late.status_code == 409 and "olivia has already claimed" in late.content.decode()
    assert late["HX-Retarget"] == "#action-error"


def test_assign_reply_and_resolve(queued, operator, operator_client, second_operator, member):
    response = operator_client.post(
        f"/escalations/{queued.pk}/assign/", {"assignee": second_operator.pk}, **HX
    )
    assert response.status_code == 200
    queued.refresh_from_db()
    assert (queued.assignee, queued.status) == (second_operator, "claimed")
    # Now oscar has it: olivia can no longer reply, and nobody can assign it to a member.
    assert (
        operator_client.post(f"/escalations/{queued.pk}/reply/", {"content": "hi"}, **HX).status_code == 409
    )
    bad = client_for(second_operator).post(f"/escalations/{queued.pk}/assign/", {"assignee": member.pk}, **HX)
    assert bad.status_code == 400 and "Choose an operator to assign it to." in bad.content.decode()

    oscar = client_for(second_operator)
    assert oscar.post(f"/escalations/{queued.pk}/reply/", {"content": "  "}, **HX).status_code == 400
    answer = "Badges are activated overnight: try again tomorrow morning, or call reception on 555-0100."
    assert oscar.post(f"/escalations/{queued.pk}/reply/", {"content": answer}, **HX).status_code == 200
    reply = Message.objects.get(conversation=queued.conversation, sent_by=second_operator)
    assert (reply.role, reply.status, reply.content) == ("assistant", "complete", answer)
    queued.refresh_from_db()
    assert queued.status == "waiting_on_user" and queued.first_response_at is not None
    chat = client_for(member).get(f"/chat/{queued.conversation_id}/").content.decode()
    assert "from a person" in chat and "activated overnight" in chat

    assert oscar.post(f"/escalations/{queued.pk}/resolve/", {"note": ""}, **HX).status_code == 400
    assert (
        oscar.post(f"/escalations/{queued.pk}/resolve/", {"note": "Badge activation lag."}, **HX).status_code
        == 200
    )
    queued.refresh_from_db()
    assert (queued.status, queued.resolved_by_phase, queued.resolution_note) == (
        "resolved",
        "human",
        "Badge activation lag.",
    )
    assert oscar.post(f"/escalations/{queued.pk}/resolve/", {"note": "again"}, **HX).status_code == 409


def test_the_user_writing_back_returns_it_to_the_operator(queued, operator, member, account):
    from escalations.services import escalation_reply

    escalation_reply(escalation=queued, user=operator, content="Which office?")
    chat_turn(account, member, "Lisbon.", conversation=queued.conversation)
    last = Message.objects.filter(conversation=queued.conversation, role="assistant").order_by("-pk").first()
    reply_inspect(reply_id=last.pk)
    queued.refresh_from_db()
    assert queued.status == "claimed"
    assert Escalation.objects.count() == 1


def test_escalating_by_hand(account, member, operator_client, agents):
    reply = chat_turn(account, member, "hello there")
    bad = operator_client.post(
        "/escalations/new/", {"conversation": reply.conversation_id, "reason": ""}, **HX
    )
    assert bad.status_code == 400 and "Say why" in bad.content.decode()
    missing = operator_client.post("/escalations/new/", {"conversation": 999999, "reason": "x"}, **HX)
    assert missing.status_code == 400
    made = operator_client.post(
        "/escalations/new/",
        {"conversation": reply.conversation_id, "reason": "VIP customer", "priority": 4},
        **HX,
    )
    assert made.status_code == 201
    escalation = Escalation.objects.get()
    assert (escalation.trigger, escalation.phase, escalation.priority) == ("manual", "human", 4)
    assert made["HX-Redirect"] == f"/escalations/{escalation.pk}/"
    again = operator_client.post(
        "/escalations/new/", {"conversation": reply.conversation_id, "reason": "x"}, **HX
    )
    assert again.status_code == 409 and f"escalation #{escalation.pk}" in again.content.decode()


def test_promoted_resolution_answers_the_next_similar_request_at_phase_1(
    queued, operator, operator_client, admin_user, account, member
):
    fix = "Badges are activated overnight: try again tomorrow morning, or call reception on 555-0100."
    # The chat reply is a progress update; the resolution note says what fixed it.
    operator_client.post(f"/escalations/{queued.pk}/reply/", {"content": "We are looking at it now."}, **HX)
    operator_client.post(f"/escalations/{queued.pk}/resolve/", {"note": fix}, **HX)
    assert operator_client.post(f"/escalations/{queued.pk}/promote/", **HX).status_code == 200
    assert operator_client.post(f"/escalations/{queued.pk}/promote/", **HX).status_code == 409
    pattern = LearnedPattern.objects.get()
    assert (pattern.status, pattern.problem, pattern.fix, pattern.source_escalation) == (
        "draft",
        queued.question,
        fix,
        queued,
    )

    # A draft does not answer; an operator cannot approve it; an admin can.
    assert operator_client.post(f"/escalations/patterns/{pattern.pk}/approve/", **HX).status_code == 403
    first = climb(
        reply_inspect(reply_id=chat_turn(account, member, "@assistant: say I don't know. " + QUESTION).pk)
    )
    assert first.resolved_by_phase != "quick_fix"
    admin = client_for(admin_user)
    assert admin.post(f"/escalations/patterns/{pattern.pk}/approve/", **HX).status_code == 200
    pattern.refresh_from_db()
    assert pattern.status == "approved" and pattern.approved_by == admin_user

    similar = "My new badge isn't accepted by the badge reader in the Lisbon office. What should I do?"
    assert text_similarity(similar, QUESTION) >= policy_for_account(account_id=account.pk).quick_fix_threshold
    reply = chat_turn(account, member, f"{similar} || @assistant: say I don't know.")
    escalation = climb(reply_inspect(reply_id=reply.pk))
    assert (escalation.status, escalation.resolved_by_phase) == ("resolved", "quick_fix")
    assert fix in escalation.answer_message.content
    assert escalation.phase_runs.get().outcome == "resolved"
