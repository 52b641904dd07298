"""A run's estimate before it starts (from the agents' recorded task times), its error
tracked in the statistics, cancelled progress drawn as cancelled, results as sanitised
Markdown, and the consensus table grouping equal answers with their voters."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from orchestration.models import AgentCapability, RunStatus, TaskRun, WorkflowRun
from orchestration.services import run_create
from orchestration.voting import Ballot, tally, vote_groups

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}


def _finished_task(run: WorkflowRun, agent, seconds: float, cost: str = "0.001") -> TaskRun:
    end = timezone.now()
    return TaskRun.objects.create(
        run=run,
        agent=agent,
        agent_slug=agent.slug,
        status=RunStatus.COMPLETED,
        started_at=end - timedelta(seconds=seconds),
        finished_at=end,
        cost_usd=Decimal(cost),
    )


@pytest.fixture
def history(account, trio, member):
    """alpha finished tasks in 1.0, 1.5 and 9 s (median 1.5); beta has none but declares 7 s."""
    past = WorkflowRun.objects.create(account=account, mode="parallel", status="completed", started_by=member)
    for seconds in (1.0, 1.5, 9.0):
        _finished_task(past, trio[0], seconds)
    AgentCapability.objects.create(agent=trio[0], name="research", estimated_seconds=145)
    AgentCapability.objects.create(agent=trio[1], name="research", estimated_seconds=7, priority=200)
    return past


def test_the_estimate_shows_before_start_from_recorded_task_times(member_client, history):
    form = member_client.get("/runs/new/").content.decode()
    assert 'id="run-estimate"' in form and 'hx-post="/runs/new/estimate/"' in form

    parallel = member_client.post(
        "/runs/new/estimate/",
        {"mode": "parallel", "task-0-target": "agent:alpha", "task-1-target": "agent:beta"},
        **HX,
    ).content.decode()
    # alpha: the median of its finished tasks (1.5 s), not its declared 145 s; beta: declared.
    assert '<li data-estimate-task="alpha" data-source="history">' in parallel and "~1.5 s" in parallel
    assert '<li data-estimate-task="beta" data-source="declared">' in parallel and "~7.0 s" in parallel
    assert 'data-seconds="7.000"' in parallel  # a parallel batch takes its slowest task

    sequential = member_client.post(
        "/runs/new/estimate/",
        {"mode": "sequential", "task-0-target": "agent:alpha", "task-1-target": "agent:beta"},
        **HX,
    ).content.decode()
    assert 'data-seconds="8.500"' in sequential  # a sequence adds them up

    missing = member_client.post(
        "/runs/new/estimate/", {"mode": "parallel", "task-0-target": "agent:nobody"}, **HX
    ).content.decode()
    assert "Agent nobody is not available in this account." in missing and 'data-seconds="0.000"' in missing


def test_a_started_run_keeps_the_estimate_the_form_showed(account, member, history, trio):
    run = run_create(account=account, mode="parallel", started_by=member,
                     tasks=[{"agent": "alpha", "input": "x"}, {"agent": "beta", "input": "y"}])  # fmt: skip
    assert run.estimated_seconds == pytest.approx(7.0)
    assert [t.estimated_seconds for t in run.tasks.order_by("position")] == pytest.approx([1.5, 7.0])


def test_the_estimate_error_is_on_the_statistics_panel(member_client, account, member, trio):
    now = timezone.now()
    for estimated, actual in ((2.0, 1.0), (1.0, 1.0), (1.5, 1.0)):  # 100%, 0% and 50% off: median 50%
        WorkflowRun.objects.create(account=account, mode="parallel", status="completed", started_by=member,
                                   estimated_seconds=estimated, started_at=now - timedelta(seconds=actual),
                                   finished_at=now)  # fmt: skip
    html = member_client.get("/runs/").content.decode()
    assert 'data-stat="estimate-error"' in html and ">50%<" in html
    run = WorkflowRun.objects.filter(estimated_seconds=2.0).get()
    assert 'data-estimate-error="1.000"' in member_client.get(f"/runs/{run.pk}/").content.decode()


def test_a_cancelled_run_is_not_drawn_as_a_full_bar(member_client, account, member, trio):
    run = run_create(account=account, mode="parallel", started_by=member,
                     tasks=[{"agent": s.slug, "input": "x"} for s in trio])  # fmt: skip
    tasks = list(run.tasks.order_by("position"))
    TaskRun.objects.filter(pk=tasks[0].pk).update(status=RunStatus.COMPLETED)
    TaskRun.objects.filter(pk__in=[t.pk for t in tasks[1:]]).update(status=RunStatus.CANCELLED)
    WorkflowRun.objects.filter(pk=run.pk).update(status=RunStatus.CANCELLED)
    for url in ("/runs/", f"/runs/{run.pk}/"):
        html = member_client.get(url).content.decode()
        assert 'data-done="1" data-total="3" data-cancelled="2"' in html
        assert "1 / 3 · 2 cancelled" in html and "run-progress-cancelled" in html
        assert 'data-percent="33.33"' in html  # the completed third only


def test_results_render_as_sanitised_markdown(member_client, account, member, trio):
    run = run_create(
        account=account, mode="parallel", started_by=member, tasks=[{"agent": "alpha", "input": "x"}]
    )
    TaskRun.objects.filter(run=run).update(
        status=RunStatus.COMPLETED, result="**Vendor B** wins\n\n- cheap\n- fast\n\n<script>alert(1)</script>"
    )
    WorkflowRun.objects.filter(pk=run.pk).update(
        status=RunStatus.COMPLETED,
        result={"answer": "# Plan\n\n[x](javascript:alert(1)) <img src=x onerror=alert(1)>"},
    )
    html = member_client.get(f"/runs/{run.pk}/").content.decode()
    assert "<strong>Vendor B</strong>" in html and "<li>cheap</li>" in html
    assert "**Vendor B**" not in html
    detail = html[html.index('id="run-detail"') :]
    assert "<script>" not in detail and 'href="javascript:' not in detail and "<img" not in detail
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in detail  # shown as text, never run


def test_the_consensus_table_shows_each_answer_once_with_its_voters(member_client, account, member, trio):
    long_answer = "Choose vendor B. " + "It is cheaper and faster to integrate. " * 10
    ballots = [
        Ballot(1, "alpha", long_answer),
        Ballot(2, "beta", long_answer.upper()),
        Ballot(3, "gamma", "Vendor A"),
        Ballot(4, "delta", None),
    ]
    result = tally(ballots, min_agreement=0.5)
    groups = vote_groups(result["votes"])
    assert [(g["voters"], g["votes"], g["winner"]) for g in groups] == [
        (["alpha", "beta"], 2, True),
        (["gamma"], 1, False),
        (["delta"], 1, False),
    ]
    run = run_create(account=account, mode="consensus", started_by=member,
                     tasks=[{"agent": s.slug, "input": "x"} for s in trio])  # fmt: skip
    WorkflowRun.objects.filter(pk=run.pk).update(status=RunStatus.COMPLETED, result=result)
    html = member_client.get(f"/runs/{run.pk}/").content.decode()
    assert html.count("data-vote-group=") == 3
    assert 'data-votes="2" data-winner="yes"' in html
    assert (
        '<span class="badge" data-voter="alpha">alpha</span><span class="badge" data-voter="beta">beta</span>'
        in html
    )
    # The long answer is one row (its summary and, folded, the full text), not one per voter.
    table = html[html.index('class="vote-table"') : html.index('class="run-answer"')]
    assert table.count("Choose vendor B.") == 2 and "CHOOSE VENDOR B." not in table
