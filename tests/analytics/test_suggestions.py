"""Improvement suggestions from a seeded account: each kind from its cluster (with the real MiniLM
embeddings), an idempotent refresh, a dismissal that holds until its cluster grows materially,
accepting that opens the prefilled edit, and the page kept to the account's admins."""

from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from accounts.models import Membership
from analytics.suggestions.demo import suggestions_demo_seed, suggestions_demo_traffic
from analytics.suggestions.models import Suggestion, SuggestionRefresh
from analytics.suggestions.services import suggestions_refresh
from conversations.models import Conversation, Handoff, Message, Turn
from escalations.models import Escalation, LearnedPattern, Phase
from tests.analytics.conftest import _agent

pytestmark = pytest.mark.django_db

BADGE = [
    "The badge reader at the Lisbon office rejects my new badge, what do I do?",
    "My access badge stopped working at the front door badge reader this morning.",
    "Badge reader on the 3rd floor blinks red when I tap my badge.",
    "The badge reader in the car park doesn't recognise my badge any more.",
]
MORE_BADGE = [
    "Who can reprogram my badge? The reader at reception keeps refusing it.",
    "How do I get my visitor badge activated for the Porto office badge readers?",
    "The new badge reader by the lifts ignores my badge.",
]
QUOTES = [
    "Can I get a quote for 150 more seats with annual billing?",
    "Please send us a quote for 80 extra seats on our current contract.",
    "We need a quote for adding 40 seats to our plan.",
    "Could you prepare a quote for 120 seats on the Enterprise plan?",
]
FLIGHTS = [
    "Can you book me a flight to Berlin for the offsite next month?",
    "Book me a flight to Madrid for next week's workshop, please.",
    "Find me a cheap flight to Paris for the conference.",
]
PATTERN_PROBLEM = "The mobile app keeps logging me out every few minutes since the last update."


class Seed:
    def __init__(self, account, user) -> None:
        self.account, self.user = account, user
        self.support = _agent(account, "support", "m")
        self.sales = _agent(account, "sales", "m")
        self.sales.routing_examples = ["How much is the Team plan?"]
        self.sales.save(update_fields=["routing_examples"])
        self.pattern = LearnedPattern.objects.create(
            account=account,
            problem=PATTERN_PROBLEM,
            fix="Update to 4.2.1.",
            status=LearnedPattern.Status.APPROVED,
        )
        self.hours = 0

    def _ask(self, question: str, *, purpose: str = Conversation.Purpose.CHAT, agent=None, state=None):
        self.hours += 1
        conversation = Conversation.objects.create(
            account=self.account, user=self.user, title=question[:40], purpose=purpose, agent=agent
        )
        asked = Message.objects.create(conversation=conversation, role="user", content=question)
        reply = Message.objects.create(
            conversation=conversation, role="assistant", content="answer", agent=agent, reply_to=asked
        )
        turn = Turn.objects.create(reply=reply, conversation=conversation, state=state or {})
        return conversation, reply, turn

    def to_a_person(self, question: str, *, purpose: str = Conversation.Purpose.CHAT) -> Escalation:
        conversation, reply, _ = self._ask(question, purpose=purpose, agent=self.support)
        return Escalation.objects.create(
            account=self.account, conversation=conversation, message=reply, trigger="cannot_resolve",
            reason="r", question=question, status="open", phase=Phase.HUMAN,
            queued_at=timezone.now() - timedelta(hours=self.hours),
        )  # fmt: skip

    def thumbs_down(self, question: str) -> Message:
        _, reply, _ = self._ask(question, agent=self.support)
        Message.objects.filter(pk=reply.pk).update(feedback="down", feedback_at=timezone.now())
        return reply

    def misroute(self, question: str, *, later_turn: bool = False) -> Handoff:
        conversation, _, turn = self._ask(question, agent=self.sales)
        if later_turn:
            _, _, turn = self._ask_again(conversation, question)
        return Handoff.objects.create(
            conversation=conversation, turn=turn, from_agent=self.support, to_agent=self.sales, via="tool",
            reason="Sales handles quotes",
        )  # fmt: skip

    def _ask_again(self, conversation, question):
        asked = Message.objects.create(conversation=conversation, role="user", content=question)
        reply = Message.objects.create(
            conversation=conversation, role="assistant", content="a", reply_to=asked
        )
        return conversation, reply, Turn.objects.create(reply=reply, conversation=conversation, state={})

    def out_of_scope(self, question: str, kind: str = "off_topic") -> Turn:
        state = {"route": {"outcome": "out_of_scope", "out_of_scope": kind, "agent": None}}
        return self._ask(question, state=state)[2]

    def pattern_answer_thumbed_down(self, question: str) -> Escalation:
        conversation, reply, _ = self._ask(question, agent=self.support)
        answer = Message.objects.create(
            conversation=conversation, role="assistant", content=self.pattern.fix, model="quick fix",
            feedback="down", feedback_at=timezone.now(),
        )  # fmt: skip
        return Escalation.objects.create(
            account=self.account, conversation=conversation, message=reply, trigger="cannot_resolve",
            reason="r", question=question, status="resolved", phase=Phase.QUICK_FIX,
            resolved_by_phase=Phase.QUICK_FIX, pattern_used=self.pattern, answer_message=answer,
        )  # fmt: skip


@pytest.fixture
def admin_user(make_user, account):
    user = make_user(account, role=Membership.Role.ADMIN, username="ada")
    user.is_staff = user.is_superuser = True  # the article and agent edits are in Django admin
    user.save(update_fields=["is_staff", "is_superuser"])
    return user


@pytest.fixture
def seed(account, admin_user) -> Seed:
    seed = Seed(account, admin_user)
    for question in BADGE[:3]:
        seed.to_a_person(question)
    seed.thumbs_down(BADGE[3])
    seed.to_a_person("How do I export last quarter's SLA report to Excel?")  # alone: no suggestion
    seed.to_a_person(BADGE[0] + " (shadow)", purpose=Conversation.Purpose.SHADOW)  # hidden: never evidence
    for question in QUOTES:
        seed.misroute(question)
    seed.misroute("Can I get a quote for 500 seats?", later_turn=True)  # a later turn: a change of subject
    for question in FLIGHTS:
        seed.out_of_scope(question)
    for greeting in ("Hi there!", "Hello!", "Good morning!"):
        seed.out_of_scope(greeting, kind="greeting")  # small talk is no gap
    for question in ("The mobile app logs me out all the time.", "The phone app keeps signing me out."):
        seed.pattern_answer_thumbed_down(question)
    return seed


def _by_kind(account) -> dict[str, Suggestion]:
    found = {s.kind: s for s in Suggestion.objects.filter(account=account)}
    assert len(found) == Suggestion.objects.filter(account=account).count(), "one suggestion per kind"
    return found


def test_each_kind_is_suggested_from_its_seeded_cluster(account, seed):
    result = suggestions_refresh(account_id=account.pk)

    assert result.created == 4
    found = _by_kind(account)
    assert set(found) == {"article", "scope", "routing", "pattern"}

    article = found["article"]
    assert article.evidence_count == 4 and "badge" in article.topic
    assert {e["question"] for e in article.evidence} == set(BADGE)
    assert article.title.startswith(
        "4 questions about “"
    ) and "went to a person (3) or were thumbed down (1)" in (article.title)
    assert article.title.endswith(": add an article")
    assert sum(1 for e in article.evidence if e["escalation_id"]) == 3  # linked to the escalation

    scope = found["scope"]
    assert scope.evidence_count == 3 and {e["question"] for e in scope.evidence} == set(FLIGHTS)
    assert "were refused as out of scope" in scope.title

    routing = found["routing"]
    assert (routing.agent, routing.from_agent, routing.evidence_count) == (seed.sales, seed.support, 4)
    assert {e["question"] for e in routing.evidence} == set(QUOTES)
    assert "routed to Support were handed to Sales: add routing examples to Sales" in routing.title

    pattern = found["pattern"]
    assert pattern.pattern == seed.pattern and pattern.evidence_count == 2
    assert pattern.title.startswith(f"Learned pattern #{seed.pattern.pk} (") and "thumbed down 2 times" in (
        pattern.title
    )
    assert SuggestionRefresh.objects.get(account=account).open_count == 4


def test_a_question_that_fails_no_more_than_usual_is_no_gap(account, seed):
    """Asked 30 times and escalated 3 times: the answers are mostly fine, no article is missing."""
    common = "How do I reset my password?"
    for _ in range(27):
        seed._ask(common)
    for _ in range(3):
        seed.to_a_person(common)
    suggestions_refresh(account_id=account.pk)
    article = Suggestion.objects.get(account=account, kind="article")
    assert common not in {e["question"] for e in article.evidence}
    assert Suggestion.objects.filter(account=account, kind="article").count() == 1


def test_the_same_evidence_gives_the_same_suggestions(account, seed):
    suggestions_refresh(account_id=account.pk)
    before = {
        s.pk: (s.key, s.title, s.evidence, s.changed_at) for s in Suggestion.objects.filter(account=account)
    }

    again = suggestions_refresh(account_id=account.pk)

    assert (again.created, again.updated, again.removed, again.unchanged) == (0, 0, 0, 4)
    after = {
        s.pk: (s.key, s.title, s.evidence, s.changed_at) for s in Suggestion.objects.filter(account=account)
    }
    assert after == before

    seed.to_a_person(MORE_BADGE[0])  # one more question: the same suggestion, updated in place
    grown = suggestions_refresh(account_id=account.pk)
    assert (grown.created, grown.updated) == (0, 1)
    article = Suggestion.objects.get(account=account, kind="article")
    assert article.pk in before and article.evidence_count == 5 and article.title.startswith("5 questions")


def test_a_dismissal_sticks_until_the_cluster_grows_materially(account, seed, admin_user):
    suggestions_refresh(account_id=account.pk)
    article = Suggestion.objects.get(account=account, kind="article")
    client = Client()
    client.force_login(admin_user)
    response = client.post(f"/analytics/suggestions/{article.pk}/dismiss/")
    assert response.status_code == 302
    article.refresh_from_db()
    assert (article.status, article.decided_count, article.decided_by) == ("dismissed", 4, admin_user)

    suggestions_refresh(account_id=account.pk)  # the same cluster recurs: still dismissed
    seed.to_a_person(MORE_BADGE[0])
    seed.to_a_person(MORE_BADGE[1])  # 6: grown, but not by half
    suggestions_refresh(account_id=account.pk)
    article.refresh_from_db()
    assert (article.status, article.evidence_count) == ("dismissed", 6)
    page = client.get("/analytics/suggestions/").content.decode()
    assert 'data-status="dismissed"' in page and 'aria-label="Open suggestions"' in page

    seed.to_a_person(MORE_BADGE[2])  # 7 = 4 + 3: material growth brings it back
    result = suggestions_refresh(account_id=account.pk)
    article.refresh_from_db()
    assert result.reopened == 1
    assert (article.status, article.reopened_from, article.evidence_count) == ("open", 4, 7)
    assert Suggestion.objects.filter(account=account, kind="article").count() == 1


def test_accepting_opens_the_prefilled_edit(account, seed, admin_user):
    suggestions_refresh(account_id=account.pk)
    found = _by_kind(account)
    client = Client()
    client.force_login(admin_user)

    # An article draft: the knowledge article form, with a title and the questions to answer.
    response = client.post(f"/analytics/suggestions/{found['article'].pk}/accept/")
    assert response.status_code == 302
    location = response["Location"]
    assert location.startswith("/admin/agents/knowledgearticle/add/?")
    query = parse_qs(urlsplit(location).query)
    assert query["account"] == [str(account.pk)] and query["tags"] == ["suggested"]
    form = client.get(location).content.decode()
    assert "badge" in form.lower() and "Lisbon office rejects my new badge" in form
    found["article"].refresh_from_db()
    assert found["article"].status == "accepted"

    # Routing examples: the agent's page, the questions added to the examples it has.
    location = client.post(f"/analytics/suggestions/{found['routing'].pk}/accept/")["Location"]
    assert location.startswith(f"/admin/agents/agentinstance/{seed.sales.pk}/change/?")
    added = json.loads(parse_qs(urlsplit(location).query)["add_routing_examples"][0])
    assert set(added) == set(QUOTES)
    page = client.get(location).content.decode()
    assert "How much is the Team plan?" in page and "quote for 150 more seats" in page
    seed.sales.refresh_from_db()
    assert seed.sales.routing_examples == [
        "How much is the Team plan?"
    ]  # nothing saved until the admin saves

    # A learned pattern: its row on the patterns page.
    location = client.post(f"/analytics/suggestions/{found['pattern'].pk}/accept/")["Location"]
    assert location == f"/escalations/patterns/#pattern-{seed.pattern.pk}"

    # Out of scope: an article draft too (what the knowledge base covers is in scope).
    location = client.post(f"/analytics/suggestions/{found['scope'].pk}/accept/")["Location"]
    assert "flight" in parse_qs(urlsplit(location).query)["body"][0]


def test_the_page_lists_the_evidence_linked(account, seed, admin_user):
    suggestions_refresh(account_id=account.pk)
    client = Client()
    client.force_login(admin_user)
    page = client.get("/analytics/suggestions/").content.decode()
    escalation = Escalation.objects.get(account=account, question=BADGE[0])
    assert f'href="/escalations/{escalation.pk}/"' in page
    handoff = Handoff.objects.filter(conversation__account=account).first()
    assert f'href="/analytics/conversations/{handoff.conversation_id}/"' in page
    assert page.count('data-action="accept"') == 4


def test_suggestions_are_the_account_admins_own(account, seed, admin_user, make_user, other_account):
    suggestions_refresh(account_id=account.pk)
    article = Suggestion.objects.get(account=account, kind="article")
    stranger = make_user(other_account, role=Membership.Role.ADMIN, username="otto")
    client = Client()
    client.force_login(stranger)
    for action in ("accept", "dismiss"):
        assert client.post(f"/analytics/suggestions/{article.pk}/{action}/").status_code == 404
    assert "badge" not in client.get("/analytics/suggestions/").content.decode().lower()
    article.refresh_from_db()
    assert article.status == "open"

    operator = make_user(account, role=Membership.Role.OPERATOR, username="opal")
    client.force_login(operator)
    assert client.get("/analytics/suggestions/").status_code == 403
    assert client.post(f"/analytics/suggestions/{article.pk}/dismiss/").status_code == 403


def test_refresh_now_refreshes_on_a_worker_task(
    account, seed, admin_user, eager_tasks, django_capture_on_commit_callbacks
):
    client = Client()
    client.force_login(admin_user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/analytics/suggestions/refresh/")
    assert response.status_code == 302
    assert Suggestion.objects.filter(account=account, status="open").count() == 4


def test_beat_refreshes_every_account():
    from config.celery import app

    entry = next(e for e in settings.CELERY_BEAT_SCHEDULE.values() if "suggestions" in e["task"])
    app.loader.import_default_modules()
    assert entry["task"] in app.tasks


def test_the_demo_traffic_gives_a_suggestion_of_each_kind(account, admin_user):
    Seed(account, admin_user)  # the demo's agents (support, sales) and its learned pattern
    suggestions_demo_seed(account=account)
    kinds = {s.kind: s for s in Suggestion.objects.filter(account=account)}
    assert set(kinds) == {"article", "scope", "routing", "pattern"}
    assert kinds["article"].evidence_count == 6 and "badge" in kinds["article"].topic
    assert kinds["routing"].agent.slug == "sales" and kinds["routing"].evidence_count == 5
    assert suggestions_demo_traffic(account=account) is False  # written once
