"""Chat as a new user meets it on the demo catalog: small talk is answered and never reaches the
operators, a request for a person still does, hand-offs read as sentences (diagnostics stay for
operators), and the legacy single agent can act (behind the approval card)."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import Membership
from agents.catalog.install import catalog_install_demo
from agents.knowledge.embeddings import model_available
from agents.models import AgentInstance, KnowledgeArticle
from agents.services import agent_ensure_default, knowledge_articles_load
from conversations.models import Conversation, Handoff, Message, ToolCall
from conversations.replies import reply_generate
from conversations.services import conversation_start, message_send
from escalations.models import Escalation
from escalations.triggers import reply_inspect

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not model_available(), reason="the packaged MiniLM model is not installed"),
    pytest.mark.timeout(900),  # the first test trains the demo router (cached for the rest)
]


@pytest.fixture
def demo(account):
    knowledge_articles_load(account=account)
    agent_ensure_default(account=account)
    catalog_install_demo(account=account)
    return account


@pytest.fixture
def offline(settings):
    settings.LLM_MODEL = "offline/knowledge-base"
    settings.LLM_FALLBACK_MODELS = []
    settings.OFFLINE_MODEL_WORD_DELAY_SECONDS = 0


def _say(account, user, text: str, *, arm: str, conversation=None) -> Message:
    conversation = conversation or conversation_start(account=account, user=user, arm=arm)
    _, reply = message_send(conversation=conversation, user=user, content=text)
    reply_generate(message_id=reply.pk)
    reply.refresh_from_db()
    return reply


@pytest.mark.parametrize("arm", [Conversation.Arm.MULTI_AGENT, Conversation.Arm.LEGACY])
@pytest.mark.parametrize("model", ["scripted", "offline"])
def test_hi_gets_a_friendly_reply_and_opens_no_escalation(demo, member, settings, arm, model):
    if model == "offline":
        settings.LLM_MODEL, settings.LLM_FALLBACK_MODELS = "offline/knowledge-base", []
    reply = _say(demo, member, "Hi", arm=arm)
    assert reply.status == Message.Status.COMPLETE
    assert reply.content.startswith("Hi! Here's what I can help with:")
    assert "**Sales**" in reply.content and "won't guess" not in reply.content
    thanks = _say(demo, member, "thanks!", arm=arm, conversation=reply.conversation)
    assert thanks.content.startswith("You're welcome!")
    assert reply_inspect(reply_id=reply.pk) is None and reply_inspect(reply_id=thanks.pk) is None
    assert not Escalation.objects.exists()


def test_an_off_topic_question_is_refused_politely_without_escalating(demo, member, offline):
    reply = _say(demo, member, "Can you recommend a good pasta recipe for tonight?", arm="multi_agent")
    assert reply.content.startswith("That's outside what this assistant is for")
    assert reply_inspect(reply_id=reply.pk) is None
    turn_state = reply.turn.state
    assert (
        turn_state["route"]["outcome"] == "out_of_scope"
        and turn_state["route"]["out_of_scope"] == "off_topic"
    )


def test_a_request_for_a_person_still_reaches_the_queue(demo, member, offline):
    reply = _say(demo, member, "I want to talk to a person", arm="multi_agent")
    assert not reply.content.startswith(("Hi!", "That's outside"))
    escalation = reply_inspect(reply_id=reply.pk)
    assert escalation is not None and escalation.trigger == Escalation.Trigger.ASKED_FOR_PERSON


def test_a_handoff_shows_a_sentence_and_keeps_the_diagnostic_for_operators(demo, member, make_user):
    consultant = AgentInstance.objects.get(account=demo, slug="consultant")
    conversation = conversation_start(account=demo, user=member, arm="multi_agent")
    Conversation.objects.filter(pk=conversation.pk).update(agent=consultant)
    conversation.refresh_from_db()
    first = _say(
        demo, member, "How should we run our CAB meetings?", arm="multi_agent", conversation=conversation
    )
    reply = _say(
        demo,
        member,
        "How much does the Enterprise plan cost, and can you send us a quote for 300 licences?",
        arm="multi_agent",
        conversation=first.conversation,
    )
    handoff = Handoff.objects.get(turn__reply=reply)
    assert handoff.to_agent.slug == "sales" and "intent moved" in handoff.reason  # the diagnostic is kept

    client = Client()
    client.force_login(member)
    page = client.get(f"/chat/{conversation.pk}/").content.decode()
    assert "Sales is taking over: you asked about" in page
    assert "intent moved" not in page and "closest sales example" not in page

    operator = make_user(demo, role=Membership.Role.OPERATOR, username="opal")
    Conversation.objects.filter(pk=conversation.pk).update(user=operator)  # an operator's own chat
    client.force_login(operator)
    page = client.get(f"/chat/{conversation.pk}/").content.decode()
    assert "data-handoff-details" in page and "intent moved" in page


def test_the_legacy_agent_has_the_tools_and_asks_before_opening_a_ticket(demo, member, offline):
    reply = _say(demo, member, "Open a ticket for the VPN outage", arm="legacy")
    assert reply.agent.slug == "assistant" and reply.status == Message.Status.AWAITING_APPROVAL
    call = ToolCall.objects.get(turn__reply=reply)
    assert call.tool_slug == "ticket_create" and call.status == ToolCall.Status.AWAITING_APPROVAL
    assert not Escalation.objects.exists()


def test_a_legacy_answer_is_concise_and_cites_a_working_article_link(demo, member, offline):
    reply = _say(demo, member, "What's the response target for urgent cases on the Team plan?", arm="legacy")
    article = KnowledgeArticle.objects.get(account=demo, slug="pricing-plans")
    assert "4-hour response target for urgent cases" in reply.content
    assert f"(/knowledge/articles/{article.pk}/)" in reply.content
    client = Client()
    client.force_login(member)
    response = client.get(f"/knowledge/articles/{article.pk}/")
    assert response.status_code == 200 and article.title in response.content.decode()


def test_an_article_page_is_account_scoped(demo, outsider):
    article = KnowledgeArticle.objects.filter(account=demo).first()
    client = Client()
    client.force_login(outsider)
    assert client.get(f"/knowledge/articles/{article.pk}/").status_code == 404
    assert client.get("/knowledge/articles/999999/").status_code == 404


def test_a_question_the_knowledge_base_answers_is_not_refused_as_off_topic(demo, member, offline):
    reply = _say(demo, member, "How do I reset my password?", arm="multi_agent")
    assert "reset link that is valid for 30 minutes" in reply.content
    assert not reply.content.startswith("That's outside")
