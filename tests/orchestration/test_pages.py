"""The Runs pages: list with statistics, the start form, a run's page, Cancel; 404 across accounts."""

from __future__ import annotations

import pytest

from orchestration.models import WorkflowRun
from orchestration.services import run_create

pytestmark = pytest.mark.django_db


def _form(**fields) -> dict:
    data = {"mode": "parallel", "request": "research vendors", "min_agreement": "0.5", "strategy": "concat"}
    return {**data, **fields}


def test_the_runs_page_lists_runs_with_progress_and_statistics(member_client, member, account, trio):
    run = run_create(account=account, mode="parallel", request="compare vendors", started_by=member,
                     tasks=[{"agent": "alpha", "input": "x"}, {"agent": "nobody", "input": "y"}])  # fmt: skip
    page = member_client.get("/runs/")
    assert page.status_code == 200
    html = page.content.decode()
    assert f'id="run-row-{run.pk}"' in html and "compare vendors" in html
    assert 'data-done="1" data-total="2"' in html  # the unavailable agent's task is already final
    assert 'ws-connect="/ws/runs/"' in html
    assert "runs succeeded" in html
    assert 'href="/runs/"' in html  # the nav link


def test_start_a_run_from_the_form(member_client, account, trio, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        response = member_client.post(
            "/runs/new/",
            _form(
                **{
                    "task-0-target": "agent:alpha",
                    "task-0-input": "vendor A",
                    "task-1-target": "agent:beta",
                    "task-1-input": "vendor B",
                }
            ),
        )
    run = WorkflowRun.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/runs/{run.pk}/"
    assert (run.mode, run.request, run.started_by.username) == ("parallel", "research vendors", "alice")
    assert list(run.tasks.values_list("agent__slug", "input")) == [
        ("alpha", "vendor A"),
        ("beta", "vendor B"),
    ]
    page = member_client.get(f"/runs/{run.pk}/").content.decode()
    assert 'ws-connect="/ws/runs/' in page and "Cancel run" in page


def test_the_form_says_what_is_wrong_and_keeps_the_input(member_client, account, trio):
    response = member_client.post(
        "/runs/new/",
        _form(
            mode="consensus", min_agreement="2", **{"task-0-target": "agent:alpha", "task-0-input": "keep me"}
        ),
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "A consensus needs at least two agents answering." in html
    assert "The minimum agreement is a share from 0 to 1" in html
    assert "keep me" in html
    assert not WorkflowRun.objects.exists()


def test_the_form_offers_agents_and_capabilities(member_client, account, trio):
    from orchestration.models import AgentCapability

    AgentCapability.objects.create(agent=trio[0], name="vendor_research")
    html = member_client.get("/runs/new/").content.decode()
    assert 'value="agent:alpha"' in html and 'value="capability:vendor_research"' in html


def test_cancel_from_the_run_page(member_client, member, account, trio):
    run = run_create(
        account=account, mode="parallel", tasks=[{"agent": "alpha", "input": "x"}], started_by=member
    )
    response = member_client.post(f"/runs/{run.pk}/cancel/", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert 'data-status="cancelled"' in response.content.decode()
    run.refresh_from_db()
    assert run.status == "cancelled" and run.tasks.get().status == "cancelled"


def test_another_accounts_run_is_404(outsider_client, account, trio):
    run = run_create(account=account, mode="parallel", tasks=[{"agent": "alpha", "input": "x"}])
    assert outsider_client.get(f"/runs/{run.pk}/").status_code == 404
    assert outsider_client.post(f"/runs/{run.pk}/cancel/").status_code == 404
    assert f"run-row-{run.pk}" not in outsider_client.get("/runs/").content.decode()
    run.refresh_from_db()
    assert run.status == "pending"


def test_a_consensus_run_page_shows_the_vote_table(member_client, member, account, trio):
    run = run_create(account=account, mode="consensus", min_agreement=0.6, started_by=member,
                     tasks=[{"agent": a.slug, "input": "q"} for a in trio])  # fmt: skip
    votes = [
        {"task_id": t.pk, "agent": t.agent_slug, "answer": a, "normalised": a.lower(), "vote": a == "Yes"}
        for t, a in zip(run.tasks.order_by("position"), ["Yes", "Yes", "No"], strict=True)
    ]
    WorkflowRun.objects.filter(pk=run.pk).update(
        status="completed",
        result={"consensus": True, "agreement": 0.6667, "answer": "Yes", "tie": False, "votes": votes},
    )
    html = member_client.get(f"/runs/{run.pk}/").content.decode()
    assert 'data-consensus="yes"' in html
    assert "agreement 67%" in html and "needs 60%" in html
    # One row per distinct answer, with its voters.
    assert html.count("data-vote-group=") == 2
    assert 'data-votes="2" data-winner="yes"' in html and 'data-votes="1" data-winner="no"' in html
