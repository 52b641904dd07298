"""Out of scope and calibration: the router can say "none of my agents", with a probability that
means what it says, and asks instead of guessing when it is unsure."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.catalog.demo import DEMO_AGENTS, demo_profiles
from agents.knowledge.embeddings import model_available
from agents.routing import scope
from agents.routing.evaluation import evaluate, expected_calibration_error, read_labelled
from agents.routing.router import Router, router_for_profiles

HELD_OUT = Path(__file__).resolve().parent / "data" / "routing_heldout.jsonl"

pytestmark = [
    pytest.mark.skipif(not model_available(), reason="the packaged MiniLM model is not installed"),
    pytest.mark.timeout(900),  # training the demo router takes a while on a busy 2-core machine
]


@pytest.fixture(scope="module")
def router() -> Router:
    # The cached router, with the profiles in the order an account's agents give them (by slug), so
    # route_message in this process reuses it instead of training another.
    return router_for_profiles(sorted(demo_profiles(), key=lambda profile: profile.slug))


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("hi", scope.GREETING),
        ("Hello there!", scope.GREETING),
        ("good morning :)", scope.GREETING),
        ("thanks!", scope.THANKS),
        ("ok great, thank you so much", scope.THANKS),
        ("bye, have a nice day", scope.FAREWELL),
        ("asdfghjkl kjhsdf", scope.UNINTELLIGIBLE),
        ("???", scope.UNINTELLIGIBLE),
    ],
)
def test_formulas_and_gibberish_are_out_of_scope_by_rule(router, text, kind):
    decision = router.route(text)
    assert decision.out_of_scope == kind
    assert decision.confidence >= 0.9


@pytest.mark.parametrize(
    "text",
    [
        "are you a real person or a bot?",
        "tell me something funny about your day",
        "what's your favourite film?",
    ],
)
def test_chit_chat_is_out_of_scope(router, text):
    assert router.route(text).out_of_scope == scope.CHIT_CHAT


@pytest.mark.parametrize(
    "text",
    [
        "What's a good recipe for banana bread?",
        "Who won the tennis final yesterday?",
        "How far is Madrid from Lisbon by train?",
        "Write me a limerick about my neighbour's cat.",
    ],
)
def test_off_topic_questions_are_out_of_scope(router, text):
    decision = router.route(text)
    assert decision.out_of_scope == scope.OFF_TOPIC, decision.reason


@pytest.mark.parametrize(
    ("text", "agent"),
    [
        ("Hi, how much is the Enterprise plan per agent?", "sales"),
        ("thanks, but the SSO login still fails with a SAML error", "support"),
        ("Hello! Please deploy the update set to production.", "implementation"),
        ("What should a good change approval policy look like?", "consultant"),
    ],
)
def test_requests_with_a_greeting_or_thanks_stay_in_scope(router, text, agent):
    decision = router.route(text)
    assert decision.in_scope and decision.agent == agent, decision.reason


def test_expected_calibration_error_is_the_weighted_gap_per_bin():
    # Two bins: 0.9-confident decisions right 1 time in 2 (gap 0.4), 0.3-confident right 0 in 2 (gap 0.3).
    assert expected_calibration_error([0.9, 0.9, 0.3, 0.3], [True, False, False, False]) == pytest.approx(
        0.35
    )
    assert expected_calibration_error([1.0, 1.0], [True, True]) == 0.0


def test_on_a_labelled_held_out_set_the_router_is_accurate_refuses_and_is_calibrated(router):
    rows = read_labelled(HELD_OUT)
    assert sum(agent is None for _, agent in rows) >= 30  # greetings, chit-chat, off-topic, gibberish
    report = evaluate(router, rows)
    assert report.accuracy >= 0.95
    assert report.oos_recall >= 0.90
    assert report.false_oos_rate <= 0.03
    assert report.ece <= 0.05
    text = report.format()
    for name in ("oos_recall:", "false_oos_rate:", "ece:"):
        assert name in text
    assert text.splitlines()[-1].startswith("accuracy: ")


@pytest.mark.django_db
def test_an_unsure_first_message_gets_a_clarifying_question_with_the_two_likeliest_agents(router):
    from accounts.models import Account
    from agents.catalog.install import catalog_install_demo
    from agents.runtime.routing import route_message

    account = Account.objects.create(slug="unsure", name="Unsure", routing_clarify_below=1.01)
    catalog_install_demo(account=account)
    routing = route_message(
        account=account, current=None, text="We need help with our SSO setup", is_first=True
    )
    assert routing.agent is None and routing.diagnostics["outcome"] == "clarify"
    decision = router.route("We need help with our SSO setup")
    names = {a["slug"]: a["name"] for a in DEMO_AGENTS}
    first, second = (names[slug] for slug in decision.likeliest(2))
    assert f"**{first}** or **{second}**" in routing.reply

    # Naming one of them routes there.
    chosen = route_message(account=account, current=None, text=f"the {second}", is_first=False)
    assert chosen.agent is not None and chosen.agent.name == second

    # With the default threshold, the same account's clear request is routed straight away.
    Account.objects.filter(pk=account.pk).update(routing_clarify_below=0.5)
    account.refresh_from_db()
    routed = route_message(
        account=account, current=None, text="How much does the Team plan cost per agent?", is_first=True
    )
    assert routed.agent is not None and routed.agent.slug == "sales" and routed.reply is None


@pytest.mark.django_db
def test_an_unsure_question_the_knowledge_base_answers_is_routed_not_clarified(router):
    from accounts.models import Account
    from agents.catalog.install import catalog_install_demo
    from agents.runtime.routing import route_message
    from agents.services import knowledge_articles_load

    account = Account.objects.create(slug="unsure-kb", name="Unsure KB", routing_clarify_below=1.01)
    catalog_install_demo(account=account)
    question = "What is the REST API rate limit?"
    # Without articles the unsure question gets the clarifying question.
    assert route_message(account=account, current=None, text=question, is_first=True).agent is None
    knowledge_articles_load(account=account)
    routed = route_message(account=account, current=None, text=question, is_first=True)
    assert routed.reply is None and routed.agent is not None
    assert routed.agent.slug == router.route(question).agent
    # A request (not a question) still gets one, even though the articles cover SSO.
    request = route_message(
        account=account, current=None, text="We need help with our SSO setup", is_first=True
    )
    assert request.agent is None and request.diagnostics["outcome"] == "clarify"


def test_the_answer_adds_the_next_sentence_when_it_is_relevant_on_its_own():
    from agents.knowledge.retrieval import compose_answer_from_results

    close = {"title": "Change", "text": "The owner sets the Close code.", "score": 0.84, "lead": False,
             "detail": "Unsuccessful changes create a problem record.", "url": "/k/2/"}  # fmt: skip
    problem = {"title": "Change", "text": "Unsuccessful changes create a problem record.", "score": 0.66,
               "lead": False, "detail": "", "url": "/k/2/"}  # fmt: skip
    other = {**problem, "text": "Problems link to changes.", "score": 0.65}
    answer = compose_answer_from_results([close, problem])
    assert answer.startswith("The owner sets the Close code. Unsuccessful changes create a problem record.")
    # A next sentence that is not itself among the results stays out (the best one is not a lead).
    assert compose_answer_from_results([close, other]).startswith("The owner sets the Close code.\n\n")


@pytest.mark.django_db
def test_small_talk_is_answered_with_what_the_agents_do_but_a_request_for_a_person_is_not(router):
    from accounts.models import Account
    from agents.catalog.install import catalog_install_demo
    from agents.runtime.routing import route_message

    account = Account.objects.create(slug="talk", name="Talk")
    catalog_install_demo(account=account)
    hello = route_message(account=account, current=None, text="hi", is_first=True)
    assert hello.agent is None and hello.reply.startswith("Hi!")
    assert "**Sales** (prices, plans" in hello.reply
    off = route_message(account=account, current=None, text="What's the weather in Rome?", is_first=True)
    assert "outside what this assistant is for" in off.reply
    person = route_message(account=account, current=None, text="I want to talk to a person", is_first=True)
    assert person.reply is None and person.agent is not None
