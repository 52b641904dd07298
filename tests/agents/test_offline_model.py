"""The default offline model: real MiniLM embeddings over the account's articles."""

import re
from io import StringIO

import pytest
from django.core.management import call_command

from agents.llm.gateway import ChatStream
from agents.models import KnowledgeArticle
from agents.services import knowledge_articles_load

pytestmark = pytest.mark.django_db


@pytest.fixture
def offline(settings):
    settings.LLM_MODEL = "offline/knowledge-base"
    settings.LLM_FALLBACK_MODELS = []
    settings.OFFLINE_MODEL_WORD_DELAY_SECONDS = 0


def _ask(account, question: str) -> tuple[str, ChatStream]:
    stream = ChatStream(messages=[{"role": "user", "content": question}], account_id=account.pk)
    return "".join(stream), stream


@pytest.mark.parametrize(
    ("question", "title"),
    [
        ("How much does the Team plan cost per agent?", "Pricing Plans"),
        ("Our SAML login fails with an audience mismatch error", "Single Sign-On"),
        ("Who approves an emergency change?", "Change Management"),
        ("How do incidents get routed to the right assignment group?", "Incident Assignment"),
    ],
)
def test_it_answers_from_the_right_article_and_links_it(offline, account, question, title):
    knowledge_articles_load(account=account)
    answer, stream = _ask(account, question)
    body, sources = re.split(r"\n\nSources?: ", answer, maxsplit=1)
    assert not answer.startswith("From the knowledge base")
    assert len(re.findall(r"[.!?](?:\s|$)", body)) <= 3  # a direct answer, not pasted paragraphs
    article = KnowledgeArticle.objects.get(account=account, title__icontains=title)
    assert f"[{article.title}](/knowledge/articles/{article.pk}/)" in sources
    assert stream.result.model == "offline/knowledge-base"
    assert stream.result.completion_tokens > 0


def test_the_pricing_answer_carries_the_price(offline, account):
    knowledge_articles_load(account=account)
    answer, _ = _ask(account, "What does the Team plan cost?")
    assert "$49" in answer


def test_it_says_plainly_when_nothing_relevant_is_known(offline, account):
    knowledge_articles_load(account=account)
    answer, _ = _ask(account, "What is the best recipe for sourdough bread?")
    assert "don't have anything in this account's knowledge base" in answer
    assert "Source" not in answer


def test_it_only_reads_the_askers_account(offline, account, other_account):
    KnowledgeArticle.objects.create(
        account=other_account,
        slug="secret",
        title="Globex Vault Codes",
        body="The Globex vault code for the server room door is 4471 and rotates monthly.",
    )
    answer, _ = _ask(account, "What is the vault code for the server room door?")
    assert "4471" not in answer
    assert "don't have anything" in answer


def test_an_edited_article_is_reindexed(offline, account):
    article = KnowledgeArticle.objects.create(
        account=account, slug="lunch", title="Canteen", body="The canteen serves lunch from noon to 2 pm."
    )
    assert "noon" in _ask(account, "When is lunch served in the canteen?")[0]
    article.body = "The canteen serves lunch from 11 am to 1 pm on weekdays."
    article.save()
    assert "11 am" in _ask(account, "When is lunch served in the canteen?")[0]


def test_the_team_plan_urgent_target_is_quoted_from_the_pricing_article(offline, account):
    knowledge_articles_load(account=account)
    answer, _ = _ask(account, "What's the response target for urgent cases on the Team plan?")
    assert "4-hour response target for urgent cases" in answer
    assert answer.split("\n\n")[-1].startswith("Source: [Pricing Plans")


def test_answer_quality_on_the_shipped_demo_questions_meets_its_goals(account):
    knowledge_articles_load(account=account)
    out = StringIO()
    call_command("eval_answers", "--account", account.slug, stdout=out)
    figures = dict(line.split(": ", 1) for line in out.getvalue().splitlines()[-2:])
    assert float(figures["top1_source"]) >= 0.90
    assert float(figures["key_fact"]) >= 0.85
