"""The runs API: start, read, cancel, statistics; per-field 400s; 404 across accounts."""

from __future__ import annotations

import pytest

from orchestration.models import TaskRun, WorkflowRun
from orchestration.services import run_create
from tests.api.conftest import ApiClient

pytestmark = pytest.mark.django_db


@pytest.fixture
def member_api(member) -> ApiClient:
    from accounts.auth import api_token_create

    return ApiClient(api_token_create(user=member, name="tests")[1])


@pytest.fixture
def outsider_api(outsider) -> ApiClient:
    from accounts.auth import api_token_create

    return ApiClient(api_token_create(user=outsider, name="tests")[1])


def _spec(**overrides) -> dict:
    spec = {
        "mode": "parallel",
        "request": "research three vendors",
        "tasks": [{"agent": "alpha", "input": "vendor A"}, {"agent": "beta", "input": "vendor B"}],
    }
    return {**spec, **overrides}


def test_start_a_run_and_read_it(member_api, account, trio, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = member_api.post(f"/api/accounts/{account.slug}/runs", _spec())
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["mode"] == "parallel" and body["status"] == "pending"
    assert [(t["agent"], t["input"], t["status"]) for t in body["tasks"]] == [
        ("alpha", "vendor A", "pending"),
        ("beta", "vendor B", "pending"),
    ]
    assert body["tasks_total"] == 2 and body["tasks_done"] == 0
    assert body["started_by"] == "alice"
    assert callbacks  # the run is sent to the workers only once committed

    again = member_api.get(f"/api/accounts/{account.slug}/runs/{body['id']}")
    assert again.status_code == 200 and again.json()["id"] == body["id"]


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"mode": "swarm"}, "mode", "Unknown mode 'swarm'"),
        ({"tasks": []}, "tasks", "Give at least one task."),
        ({"mode": "consensus", "min_agreement": 1.5}, "min_agreement", "from 0 to 1"),
        ({"mode": "consensus", "min_agreement": -0.1}, "min_agreement", "from 0 to 1"),
        ({"tasks": [{"agent": "nobody", "input": "x"}]}, "tasks.0.agent", "Agent nobody is not available"),
        ({"tasks": [{"capability": "juggling", "input": "x"}]}, "tasks.0.capability", "juggling"),
        ({"tasks": [{"input": "x"}]}, "tasks.0.agent", "Name an agent or a capability."),
        ({"mode": "hierarchical", "strategy": "average"}, "strategy", "Unknown aggregation 'average'"),
        ({"min_agreement": "lots"}, "min_agreement", ""),
    ],
)
def test_invalid_specs_get_400_with_the_reason_and_change_nothing(
    member_api, account, trio, overrides, field, message
):
    response = member_api.post(f"/api/accounts/{account.slug}/runs", _spec(**overrides))
    assert response.status_code == 400, response.content
    errors = response.json()["errors"]
    assert field in errors, errors
    assert message in " ".join(errors[field])
    assert not WorkflowRun.objects.exists()


def test_a_suspended_agent_is_refused_by_the_api(member_api, account, trio):
    trio[1].status = "suspended"
    trio[1].save()
    response = member_api.post(f"/api/accounts/{account.slug}/runs", _spec())
    assert response.status_code == 400
    assert response.json()["errors"]["tasks.1.agent"] == ["Agent beta is not available in this account."]


def test_runs_of_another_account_are_404(member_api, outsider_api, account, other_account, trio):
    run = run_create(account=account, mode="parallel", tasks=[{"agent": "alpha", "input": "x"}])
    assert outsider_api.get(f"/api/accounts/{account.slug}/runs/{run.pk}").status_code == 404
    assert outsider_api.post(f"/api/accounts/{account.slug}/runs/{run.pk}/cancel").status_code == 404
    assert outsider_api.get(f"/api/accounts/{account.slug}/runs/statistics").status_code == 404
    assert outsider_api.post(f"/api/accounts/{account.slug}/runs", _spec()).status_code == 404
    # Their own account's URL with our run's id: still not found.
    assert outsider_api.get(f"/api/accounts/{other_account.slug}/runs/{run.pk}").status_code == 404
    assert outsider_api.post(f"/api/accounts/{other_account.slug}/runs/{run.pk}/cancel").status_code == 404
    run.refresh_from_db()
    assert run.status == "pending"


def test_cancel_marks_every_unfinished_task_cancelled(member_api, member, account, trio):
    run = run_create(
        account=account,
        started_by=member,
        mode="parallel",
        tasks=[{"agent": "alpha", "input": "x"}, {"agent": "beta", "input": "y"}],
    )
    TaskRun.objects.filter(run=run, position=0).update(status="completed", result="done")
    response = member_api.post(f"/api/accounts/{account.slug}/runs/{run.pk}/cancel")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "cancelled"
    assert [t["status"] for t in body["tasks"]] == ["completed", "cancelled"]
    again = member_api.post(f"/api/accounts/{account.slug}/runs/{run.pk}/cancel")
    assert again.status_code == 400
    assert "already cancelled" in again.json()["errors"]["status"][0]


def test_statistics(member_api, member, account, trio):
    finished = run_create(
        account=account, mode="parallel", tasks=[{"agent": "alpha", "input": "x"}] * 2, started_by=member
    )
    WorkflowRun.objects.filter(pk=finished.pk).update(status="completed")
    first, second = finished.tasks.order_by("position")
    from datetime import timedelta

    from django.utils import timezone

    now = timezone.now()
    TaskRun.objects.filter(pk=first.pk).update(
        status="completed", started_at=now - timedelta(seconds=2), finished_at=now
    )
    TaskRun.objects.filter(pk=second.pk).update(status="failed", error="x")
    run_create(
        account=account, mode="consensus", tasks=[{"agent": "beta", "input": "x"}] * 2, started_by=member
    )
    body = member_api.get(f"/api/accounts/{account.slug}/runs/statistics").json()
    assert body["runs"] == 2
    assert body["runs_by_status"]["completed"] == 1 and body["runs_by_status"]["pending"] == 1
    assert body["tasks_by_status"]["failed"] == 1
    assert body["task_success_rate"] == 0.5
    assert body["task_duration_mean_seconds"] == pytest.approx(2.0, abs=0.01)
    alpha = next(row for row in body["per_agent"] if row["agent"] == "alpha")
    assert (alpha["completed"], alpha["failed"], alpha["success_rate"]) == (1, 1, 0.5)


def test_the_routes_are_in_the_openapi_schema(member_api):
    paths = member_api.get("/api/openapi.json").json()["paths"]
    for route in (
        "/api/accounts/{account}/runs",
        "/api/accounts/{account}/runs/{run_id}",
        "/api/accounts/{account}/runs/{run_id}/cancel",
        "/api/accounts/{account}/runs/statistics",
    ):
        assert route in paths, route
