"""The offline router: which specialised agent handles a message, and when a conversation moves."""

from __future__ import annotations

import json
import re
import zlib
from io import StringIO
from pathlib import Path

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from agents.catalog.demo import DEMO_AGENTS, demo_profiles
from agents.knowledge.embeddings import model_available
from agents.routing.evaluation import LabelledFileError, evaluate, read_labelled
from agents.routing.router import AgentProfile, RouteDecision, Router, router_for_profiles

DEV_PATH = Path(__file__).resolve().parents[3] / "shared" / "routing" / "dev.jsonl"

needs_model = pytest.mark.skipif(not model_available(), reason="the packaged MiniLM model is not installed")


@pytest.fixture(scope="module")
def router() -> Router:
    if not model_available():
        pytest.skip("the packaged MiniLM model is not installed")
    return Router(demo_profiles())


# --- the demo catalog ---------------------------------------------------------------------


def test_the_demo_catalog_has_six_complete_agents():
    slugs = [agent["slug"] for agent in DEMO_AGENTS]
    assert slugs == ["consultant", "solution_architect", "implementation", "support", "sales", "research"]
    every_example = [example for agent in DEMO_AGENTS for example in agent["routing_examples"]]
    assert len(every_example) == len(set(every_example)), "an example belongs to one agent only"
    for agent in DEMO_AGENTS:
        assert agent["name"] and agent["description"]
        assert 40 <= len(agent["routing_examples"]) <= 60
        sentences = [s for s in re.split(r"(?<=[.!?])\s+", agent["system_prompt"]) if s]
        assert 4 <= len(sentences) <= 8, agent["slug"]
        assert "hand off" in agent["system_prompt"].lower()


def test_no_dev_query_is_copied_into_the_examples():
    if not DEV_PATH.exists():
        pytest.skip(f"{DEV_PATH} is not there")
    examples = {e.lower().strip(" .?!") for agent in DEMO_AGENTS for e in agent["routing_examples"]}
    for query, _ in read_labelled(DEV_PATH):
        assert query.lower().strip(" .?!") not in examples


# --- routing ------------------------------------------------------------------------------


@needs_model
@pytest.mark.parametrize(
    ("text", "agent"),
    [
        ("Is it sensible to have a single approval group for every kind of change?", "consultant"),
        ("Write a business rule that copies the caller's VIP flag onto the incident.", "solution_architect"),
        ("Please activate the Field Service plugin on our production instance.", "implementation"),
        ("Nobody in the Madrid office can open the portal, it times out with a 504.", "support"),
        ("What would 75 Team plan seats cost us per year?", "sales"),
        ("Compare Freshworks and Zendesk on their AI features for service desks.", "research"),
    ],
)
def test_each_agent_gets_an_unambiguous_message(router, text, agent):
    decision = router.route(text)
    assert decision.agent == agent, decision
    assert decision.confidence > 0.5


@needs_model
@pytest.mark.parametrize(
    "family",
    [
        # Same topic, six intents: only the intent decides.
        {
            "What's the best practice for where scripting logic should live on the platform?": "consultant",
            "Write a script that reopens incidents whose problem record was reopened.": "solution_architect",
            "Run the cleanup script on prod now, we approved it yesterday.": "implementation",
            "My background script fails with 'undefined is not a function' on line 40.": "support",
            "Compare the scripting tools different ITSM vendors offer developers.": "research",
            "How much does the scripting add-on cost per year?": "sales",
        },
        {
            "Should we enforce single sign-on for contractors too, or only for employees?": "consultant",
            "Draft the SAML attribute mapping config for our Azure AD integration.": "solution_architect",
            "Enable SSO for the whole company on the live instance.": "implementation",
            "SSO login fails with 'invalid signature' for everyone since this morning.": "support",
            "Is single sign-on included in the Starter plan or do we have to pay more?": "sales",
            "Summarise how Okta and OneLogin differ in their SSO offerings.": "research",
        },
        {
            "Upgrade our test instance to the new release this weekend.": "implementation",
            "We'd like to upgrade our subscription from Team to Enterprise.": "sales",
            "Since the upgrade, the change form throws a JavaScript error.": "support",
            "How should we plan and test platform upgrades so they don't disrupt the business?": "consultant",
        },
    ],
    ids=["scripts", "sso", "upgrade"],
)
def test_hard_negatives_split_one_topic_by_intent(router, family):
    wrong = {text: router.route(text).agent for text, agent in family.items()}
    wrong = {text: got for text, got in wrong.items() if got != family[text]}
    assert not wrong, wrong


@needs_model
def test_a_decision_has_probabilities_and_a_reason(router):
    decision = router.route("Can you send us a quote for 300 Enterprise licences?")
    assert isinstance(decision, RouteDecision)
    assert decision.agent == "sales"
    assert set(decision.scores) == {agent["slug"] for agent in DEMO_AGENTS}
    assert decision.in_scope
    assert sum(decision.scores.values()) + decision.out_of_scope_probability == pytest.approx(1.0, abs=1e-3)
    assert decision.confidence == max(decision.scores.values())
    assert 0.0 <= decision.confidence <= 1.0
    assert "sales" in decision.reason and "quote" in decision.reason


@needs_model
def test_plain_wording_skips_the_embedding_and_vaguer_wording_embeds_once(router, monkeypatch):
    calls = []
    real = router._embed
    monkeypatch.setattr(router, "_embed", lambda texts: calls.append(list(texts)) or real(texts))

    clear = router.route("How much does the Enterprise plan cost per agent per month?")
    assert (clear.agent, calls) == ("sales", [])
    assert "(wording)" in clear.reason

    vague = router.route("Tell me what rivals of ours are up to lately")
    assert calls == [["Tell me what rivals of ours are up to lately"]]
    assert vague.agent == "research"  # the likeliest agent (this phrasing is now judged off-topic)
    assert "meaning and wording" in vague.reason


def test_the_fast_tfidf_matches_sklearn():
    from sklearn.feature_extraction.text import TfidfVectorizer

    from agents.routing.router import _Tfidf

    texts = [example for agent in DEMO_AGENTS for example in agent["routing_examples"]]
    for vectorizer in (
        TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
        TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True),
    ):
        vectorizer.fit(texts)
        for text in ["Deploy the update set to prod, then deploy it to test!", "zzz qqq", texts[7]]:
            expected = vectorizer.transform([text]).toarray().ravel()
            indices, values = _Tfidf(vectorizer)(text)
            got = np.zeros_like(expected)
            got[indices] = values
            np.testing.assert_allclose(got, expected, atol=1e-12)


@needs_model
def test_an_empty_message_is_out_of_scope_as_unintelligible(router):
    decision = router.route("   ")
    assert decision.out_of_scope == "unintelligible" and not decision.in_scope
    assert decision.agent in decision.scores


@needs_model
def test_dev_set_accuracy_is_at_least_90_percent(router):
    if not DEV_PATH.exists():
        pytest.skip(f"{DEV_PATH} is not there")
    report = evaluate(router, read_labelled(DEV_PATH))
    assert report.accuracy >= 0.90, report.format()


# --- conversation shifts ------------------------------------------------------------------


@needs_model
@pytest.mark.parametrize(
    ("text", "current"),
    [
        ("thanks", "support"),
        ("Thank you, that fixed it!", "support"),
        ("ok do that", "implementation"),
        ("yes please go ahead", "implementation"),
        ("what about the second one?", "consultant"),
        ("can you explain more", "consultant"),
        ("Is that the best approach?", "solution_architect"),
        ("could you make it shorter", "solution_architect"),
        ("why?", "research"),
    ],
)
def test_short_follow_ups_keep_the_current_agent(router, text, current):
    assert router.detect_shift(text, current) is None


@needs_model
def test_a_clear_move_is_detected_with_a_reason(router):
    decision = router.detect_shift("how much would the enterprise plan cost us?", "support")
    assert decision is not None
    assert decision.agent == "sales"
    assert decision.confidence >= 0.6
    assert "Support" in decision.reason and "Sales" in decision.reason


@needs_model
@pytest.mark.parametrize(
    ("text", "current", "target"),
    [
        ("Great, now deploy that update set to production please", "solution_architect", "implementation"),
        ("The import job you just ran failed with a timeout error", "implementation", "support"),
        (
            "Now write the business rule that enforces this for every change",
            "consultant",
            "solution_architect",
        ),
    ],
)
def test_other_clear_moves(router, text, current, target):
    decision = router.detect_shift(text, current)
    assert decision is not None and decision.agent == target


@needs_model
def test_staying_on_topic_is_not_a_shift(router):
    assert (
        router.detect_shift("And what would the Starter plan cost for 20 agents per month?", "sales") is None
    )


# --- construction and the cache (a fake embedder: no model needed) ------------------------


def _hashed_embedder(texts: list[str]) -> np.ndarray:
    """Bag of hashed words, unit length: deterministic and instant."""
    out = np.zeros((len(texts), 64), dtype=np.float32)
    for row, text in enumerate(texts):
        for word in re.findall(r"\w+", text.lower()):
            out[row, zlib.crc32(word.encode()) % 64] += 1.0
        norm = np.linalg.norm(out[row])
        if norm:
            out[row] /= norm
    return out


TOY = [
    AgentProfile(
        "billing", "Billing", "Invoices and payments.", ("Where is my invoice?", "Refund my payment")
    ),
    AgentProfile("tech", "Tech", "Broken things.", ("The app crashes on start", "Login gives an error")),
]


def test_any_catalog_can_be_routed_not_only_the_demo_one():
    router = Router(TOY, embedder=_hashed_embedder)
    assert router.route("I need a copy of last month's invoice").agent == "billing"
    assert router.route("the app crashes with an error").agent == "tech"


def test_a_single_agent_gets_everything_and_never_hands_off():
    router = Router(TOY[:1], embedder=_hashed_embedder)
    decision = router.route("anything at all")
    assert decision.agent == "billing" and decision.confidence == 1.0
    assert router.detect_shift("something completely different now, please help", "billing") is None


def test_invalid_catalogs_are_refused():
    with pytest.raises(ValueError):
        Router([], embedder=_hashed_embedder)
    with pytest.raises(ValueError):
        Router([TOY[0], TOY[0]], embedder=_hashed_embedder)


@needs_model
def test_router_for_profiles_reuses_a_router_until_the_profiles_change():
    profiles = [AgentProfile(p.slug, p.name, p.description, p.examples[:10]) for p in demo_profiles()]
    first = router_for_profiles(profiles)
    assert router_for_profiles(list(profiles)) is first  # equal content, new list
    changed = [
        *profiles[:-1],
        AgentProfile(profiles[-1].slug, profiles[-1].name, "Changed.", profiles[-1].examples),
    ]
    assert router_for_profiles(changed) is not first


# --- evaluation ---------------------------------------------------------------------------


class _FixedRouter:
    slugs = ("a", "b")

    def route(self, text: str) -> RouteDecision:
        agent = "a" if "alpha" in text else "b"
        return RouteDecision(agent=agent, confidence=1.0, scores={agent: 1.0}, reason="fixed")


def test_the_report_has_per_agent_precision_recall_and_ends_with_accuracy():
    rows = [("alpha one", "a"), ("alpha two", "b"), ("beta", "b"), ("gamma", "b")]
    report = evaluate(_FixedRouter(), rows)
    assert report.accuracy == 0.75
    by_agent = {stats.agent: stats for stats in report.per_agent}
    assert by_agent["a"].precision == 0.5 and by_agent["a"].recall == 1.0 and by_agent["a"].support == 1
    assert by_agent["b"].precision == 1.0 and by_agent["b"].recall == pytest.approx(2 / 3)
    assert report.confusions == (("b", "a", 1),)
    assert report.p95_ms >= report.p50_ms >= 0
    text = report.format()
    assert "precision" in text and "recall" in text and "b -> a: 1" in text
    assert text.splitlines()[-1] == "accuracy: 0.750"


def test_read_labelled_names_the_malformed_line(tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_text('{"query": "hi", "agent": "a"}\n\n{"query": "no agent"}\n', encoding="utf-8")
    with pytest.raises(LabelledFileError, match="line 3"):
        read_labelled(path)
    path.write_text('{"query": "hi", "agent": "a"}\nnot json\n', encoding="utf-8")
    with pytest.raises(LabelledFileError, match="line 2"):
        read_labelled(path)
    with pytest.raises(LabelledFileError, match="no such file"):
        read_labelled(tmp_path / "missing.jsonl")


# --- the eval_routing command ----------------------------------------------------------------


def _write_rows(path: Path, rows: list[tuple[str, str]]) -> Path:
    path.write_text("".join(json.dumps({"query": q, "agent": a}) + "\n" for q, a in rows), encoding="utf-8")
    return path


def _account_with_catalog(slug: str):
    from accounts.models import Account

    account = Account.objects.create(slug=slug, name=slug.title())
    try:
        from agents.catalog.install import catalog_install_demo
    except ImportError:  # the command then falls back to the demo catalog
        return account
    catalog_install_demo(account=account)
    return account


@needs_model
def test_eval_routing_prints_the_report(db, tmp_path):
    _account_with_catalog("initech")
    path = _write_rows(
        tmp_path / "rows.jsonl",
        [
            ("Could we get a quote for 60 more agent seats?", "sales"),
            ("The nightly export job crashed with an out of memory error.", "support"),
            ("Draft a GlideRecord query for changes scheduled next week.", "solution_architect"),
            ("Give me an overview of vendors in the digital workplace market.", "research"),
        ],
    )
    out = StringIO()
    call_command("eval_routing", str(path), "--account", "initech", stdout=out)
    text = out.getvalue()
    assert "precision" in text and "recall" in text
    assert re.fullmatch(r"accuracy: \d\.\d{3}", text.strip().splitlines()[-1])
    assert text.strip().splitlines()[-1] == "accuracy: 1.000"


@needs_model
def test_eval_routing_keeps_each_result_for_gates_and_analytics(db, tmp_path):
    from agents.models import RoutingEvaluation

    account = _account_with_catalog("initech")
    path = _write_rows(
        tmp_path / "rows.jsonl",
        [
            ("Could we get a quote for 60 more agent seats?", "sales"),
            ("The nightly export job crashed with an out of memory error.", "support"),
            ("Could we get a quote for 60 more agent seats?", "support"),  # one wrong label
        ],
    )
    call_command("eval_routing", str(path), "--account", "initech", stdout=StringIO())
    call_command("eval_routing", str(path), "--account", "initech", "--no-store", stdout=StringIO())
    stored = RoutingEvaluation.objects.get(account=account)
    assert (stored.total, stored.correct) == (3, 2)
    assert stored.accuracy == pytest.approx(2 / 3)
    assert stored.dataset == str(path)
    assert {row["agent"] for row in stored.per_agent} >= {"sales", "support"}


def test_eval_routing_names_a_malformed_line(db, tmp_path):
    from accounts.models import Account

    Account.objects.create(slug="initech", name="Initech")
    path = tmp_path / "rows.jsonl"
    path.write_text('{"query": "hello", "agent": "sales"}\n{"query": "oops", \n', encoding="utf-8")
    with pytest.raises(CommandError, match="line 2"):
        call_command("eval_routing", str(path), "--account", "initech", stdout=StringIO())


def test_eval_routing_errors_on_a_missing_file_or_account(db, tmp_path):
    from accounts.models import Account

    Account.objects.create(slug="initech", name="Initech")
    with pytest.raises(CommandError, match="no such file"):
        call_command("eval_routing", str(tmp_path / "nope.jsonl"), "--account", "initech", stdout=StringIO())
    path = _write_rows(tmp_path / "rows.jsonl", [("hello", "sales")])
    with pytest.raises(CommandError, match="no account 'globex'"):
        call_command("eval_routing", str(path), "--account", "globex", stdout=StringIO())
