"""Evaluation runs on the scripted model: each case runs in a hidden conversation through the turn
engine; pass/fail per case follows its expectations; gated tools are never executed; the figures
and the comparison of two runs; the routing gate reads the latest run; a killed run resumes."""

from __future__ import annotations

import json

import pytest
from django.utils import timezone

from agents.catalog.install import tools_install
from agents.models import AgentInstance, AgentTemplate, LiveSystemConnection, RoutingEvaluation, Ticket
from analytics.evaluation.datasets import dataset_import
from analytics.evaluation.figures import runs_compare
from analytics.evaluation.models import EvaluationResult, EvaluationRun
from analytics.evaluation.runner import evaluation_run_advance, evaluation_run_orphans, evaluation_run_start
from analytics.evaluation.selectors import evaluation_latest
from analytics.gates import routing_accuracy_gate
from conversations.models import Conversation, ToolCall
from rollout.gates import GateContext

pytestmark = [pytest.mark.django_db(transaction=True)]

TOOL_SCRIPT = (
    '@assistant: transfer fixer needs hands || @fixer: tool ticket_create {"title": "VPN down"}; say done'
)
LIVE_SCRIPT = (
    '@assistant: transfer fixer x || @fixer: tool live_system_request {"method": "POST", "path": "/r"}; say k'
)
CASES = "\n".join(
    json.dumps(case)
    for case in [
        {"key": "fact-ok", "message": "@assistant: say The trial lasts 30 days.",
         "expected_agent": "assistant", "facts": ["30 days"]},
        {"key": "fact-missing", "message": "@assistant: say I do not know.", "facts": ["30 days"]},
        {"key": "ticket-gated", "message": TOOL_SCRIPT, "expected_agent": "fixer", "tool": "ticket_create",
         "approval_expected": True},
        {"key": "acts-but-must-not", "message": LIVE_SCRIPT, "must_not_act": True},
        {"key": "wrong-agent", "message": "@assistant: say hello", "expected_agent": "fixer"},
        {"key": "script", "turns": ["@assistant: say first", "@assistant: say second 30 days"],
         "facts": ["30 days"]},
        {"key": "model-fails", "message": "@assistant: fail boom", "expected_agent": "assistant"},
    ]
)  # fmt: skip
EXPECTED = {
    "fact-ok": "passed",
    "fact-missing": "failed",
    "ticket-gated": "passed",
    "acts-but-must-not": "failed",
    "wrong-agent": "failed",
    "script": "passed",
    "model-fails": "failed",
}


@pytest.fixture
def fixer(account) -> AgentInstance:
    tools = tools_install()
    template = AgentTemplate.objects.create(slug="eval-kind", name="Eval kind")
    agent = AgentInstance.objects.create(account=account, template=template, slug="fixer", name="Fixer")
    agent.tools.set([tools["knowledge_search"], tools["ticket_create"], tools["live_system_request"]])
    AgentInstance.objects.get(account=account, slug="assistant").handoff_targets.set([agent])
    LiveSystemConnection.objects.create(account=account, base_url="http://live.example.test")
    return agent


@pytest.fixture
def dataset(account, fixer):
    return dataset_import(account=account, name="smoke", content=CASES, file_format="jsonl")


def _run(account, dataset, user) -> EvaluationRun:
    run = evaluation_run_start(account=account, dataset=dataset, user=user)
    while evaluation_run_advance(run_id=run.pk):
        pass
    run.refresh_from_db()
    return run


def test_each_case_passes_or_fails_by_its_expectations_and_nothing_acts(account, dataset, member, live_calls):
    run = _run(account, dataset, member)
    assert run.status == EvaluationRun.Status.COMPLETE
    outcomes = dict(run.results.values_list("case_key", "status"))
    assert outcomes == EXPECTED
    assert (run.done, run.passed, run.total) == (7, 3, 7)

    # Every case ran in a hidden evaluation conversation, and no gated tool was executed.
    conversations = Conversation.objects.filter(pk__in=run.results.values("conversation"))
    assert conversations.count() == 7
    assert set(conversations.values_list("purpose", flat=True)) == {Conversation.Purpose.EVALUATION}
    assert Ticket.objects.count() == 0 and live_calls == []
    gated = ToolCall.objects.filter(
        conversation__in=conversations, tool_slug__in=["ticket_create", "live_system_request"]
    )
    assert set(gated.values_list("status", flat=True)) == {ToolCall.Status.SIMULATED}

    failed = {r.case_key: r for r in run.results.filter(status="failed")}
    assert [c for c in failed["acts-but-must-not"].checks if not c["passed"]] == [
        {"check": "must_not_act", "passed": False, "expected": "no gated call", "got": "live_system_request"}
    ]
    assert [c["check"] for c in failed["wrong-agent"].checks if not c["passed"]] == ["agent"]
    assert failed["model-fails"].checks[0]["got"].startswith("failed")

    figures = run.figures
    assert (figures["pass_rate"], figures["routing_accuracy"], figures["routing_total"]) == (
        0.4286,
        0.75,
        4,
    )
    assert figures["tool_correctness"] == 0.5  # the gated ticket call; the forbidden live call
    assert figures["latency_p50_ms"] is not None and figures["tokens"] > 0
    per_agent = {row["agent"]: (row["total"], row["passed"]) for row in figures["per_agent"]}
    assert per_agent == {"(any agent)": (3, 1), "assistant": (2, 1), "fixer": (2, 1)}

    summary = evaluation_latest(account=account)
    assert (summary.run_id, summary.pass_rate, summary.total) == (run.pk, 0.4286, 7)


def test_a_second_run_shows_which_cases_regressed(account, dataset, member, fixer):
    first = _run(account, dataset, member)
    changed = CASES.replace("say The trial lasts 30 days.", "say no idea")
    changed = changed.replace("@assistant: say I do not know.", "@assistant: say 30 days")
    dataset = dataset_import(account=account, name="smoke", content=changed, file_format="jsonl")
    assert dataset.version == 2
    second = _run(account, dataset, member)
    comparison = runs_compare(base=first, other=second)
    assert [c.case_key for c in comparison.regressed] == ["fact-ok"]
    assert [c.case_key for c in comparison.fixed] == ["fact-missing"]
    assert second.dataset_version == 2 and first.dataset_version == 1


def test_the_routing_gate_reads_the_latest_evaluation_run(account, dataset, member):
    context = GateContext(account=account, since=timezone.now(), window_days=7, config={"min": 0.3})
    assert routing_accuracy_gate(context).figure == "no evaluation"
    run = _run(account, dataset, member)
    result = routing_accuracy_gate(context)
    assert result.passed and result.figure.startswith(
        f"75.0% on 4 cases (evaluation run #{run.pk} of smoke v1"
    )
    strict = routing_accuracy_gate(
        GateContext(account=account, since=timezone.now(), window_days=7, config={"min": 0.9})
    )
    assert not strict.passed
    # A newer eval_routing record is read when it is the latest evidence.
    RoutingEvaluation.objects.create(account=account, dataset="f.jsonl", total=10, correct=10, accuracy=1.0)
    assert routing_accuracy_gate(context).figure.startswith("100.0% on 10 labelled queries")


def test_a_run_whose_worker_died_resumes_at_its_first_unfinished_case(account, dataset, member, settings):
    settings.EVALUATION_BATCH_SECONDS = 0  # one case per batch
    run = evaluation_run_start(account=account, dataset=dataset, user=member)
    assert evaluation_run_advance(run_id=run.pk)  # one case done, more to go
    # The next batch's worker dies half-way through a case: its lease runs out.
    half = run.results.filter(status="pending").order_by("position").first()
    stale = Conversation.objects.create(account=account, user=member, purpose=Conversation.Purpose.EVALUATION)
    EvaluationResult.objects.filter(pk=half.pk).update(conversation=stale)
    EvaluationRun.objects.filter(pk=run.pk).update(
        status="running", lease_expires_at=timezone.now() - timezone.timedelta(seconds=1)
    )
    assert run.pk in evaluation_run_orphans()
    while evaluation_run_advance(run_id=run.pk):
        pass
    run.refresh_from_db()
    assert run.status == "complete" and dict(run.results.values_list("case_key", "status")) == EXPECTED
    half.refresh_from_db()
    assert half.conversation_id != stale.pk  # the half-done case started again, in a fresh conversation
    assert run.pk not in evaluation_run_orphans()
