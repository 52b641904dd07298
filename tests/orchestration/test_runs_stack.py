"""Runs on a real Celery worker process (tests/support/stack.py): parallel tasks overlap,
Cancel stops a running run, and a worker killed mid-run re-runs only unfinished tasks."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from django.utils import timezone

from accounts.auth import api_token_create
from orchestration.models import WorkflowRun
from tests.support.live import wait_for
from tests.support.stack import Stack

pytestmark = [pytest.mark.stack, pytest.mark.django_db(transaction=True)]


def _api(base_url: str, user) -> httpx.Client:
    _, token = api_token_create(user=user, name="stack")
    return httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=15)


def _start(api: httpx.Client, account, **spec) -> WorkflowRun:
    response = api.post(f"/api/accounts/{account.slug}/runs", json=spec)
    assert response.status_code == 201, response.text
    return WorkflowRun.objects.get(pk=response.json()["id"])


def _finished(run: WorkflowRun, timeout: float = 30) -> WorkflowRun:
    def done():
        run.refresh_from_db()
        return run.is_final

    wait_for(done, timeout, f"run {run.pk} never finished")
    return run


def test_parallel_tasks_overlap_in_time(stack, account, member, trio):
    api = _api(stack.base_url, member)
    run = _start(
        api, account, mode="parallel",
        request="\n".join(f"@{a.slug}: wait 0.25 {a.slug} one two three" for a in trio),
        tasks=[{"agent": a.slug, "input": f"vendor {a.slug}"} for a in trio],
    )  # fmt: skip
    _finished(run)
    assert run.status == "completed", run.error
    tasks = list(run.tasks.order_by("position"))
    assert [t.result for t in tasks] == [f"{a.slug} one two three" for a in trio]
    # Every task started before any other finished: they ran side by side, not in turn.
    assert max(t.started_at for t in tasks) < min(t.finished_at for t in tasks)
    body = api.get(f"/api/accounts/{account.slug}/runs/{run.pk}").json()
    assert body["status"] == "completed" and body["tasks_done"] == 3


def test_cancel_stops_running_tasks_and_queued_ones_never_start(stack, account, member, trio):
    api = _api(stack.base_url, member)
    slow = " ".join(["word"] * 40)
    run = _start(
        api, account, mode="sequential",
        request=f"@alpha: wait 0.25 {slow}\n@beta: say never",
        tasks=[{"agent": "alpha", "input": "long"}, {"agent": "beta", "input": "next"}],
    )  # fmt: skip

    def running():
        run.refresh_from_db()
        return run.tasks.filter(position=0, status="in_progress").exists()

    wait_for(running, 20, "the first task never started")
    response = api.post(f"/api/accounts/{account.slug}/runs/{run.pk}/cancel")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    cancelled_at = timezone.now()

    first, second = run.tasks.order_by("position")
    assert (first.status, second.status) == ("cancelled", "cancelled")
    # The running task stops within a heartbeat instead of answering its 10 s of words.
    import time

    time.sleep(2.0)
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, first.result) == ("cancelled", "")
    assert (second.status, second.attempts, second.started_at) == ("cancelled", 0, None)
    run.refresh_from_db()
    assert run.status == "cancelled" and run.finished_at <= cancelled_at


@pytest.fixture
def short_lease_stack(django_db_setup) -> Iterator[Stack]:
    """A stack whose tasks hold a 2 s lease, so recovery after kill -9 need not wait 60 s."""
    running = Stack(ORCHESTRATION_LEASE_SECONDS="2")
    try:
        running.start_web()
        running.start_worker()
        yield running
    finally:
        running.stop()


def test_a_killed_worker_re_runs_only_unfinished_tasks(short_lease_stack, account, member, trio):
    stack = short_lease_stack
    api = _api(stack.base_url, member)
    slow = " ".join(["word"] * 30)
    run = _start(
        api, account, mode="parallel",
        request=f"@alpha: say quick\n@beta: wait 0.2 {slow}\n@gamma: wait 0.2 {slow}",
        tasks=[{"agent": a.slug, "input": "go"} for a in trio],
    )  # fmt: skip

    def mid_run():
        statuses = dict(run.tasks.values_list("agent_slug", "status"))
        return statuses == {"alpha": "completed", "beta": "in_progress", "gamma": "in_progress"}

    wait_for(mid_run, 20, "never reached: alpha done, beta and gamma running")
    stack.kill_worker()
    leases = list(run.tasks.exclude(lease_expires_at=None).values_list("lease_expires_at", flat=True))
    wait_for(lambda: timezone.now() > max(leases), 10, "leases never expired")
    stack.start_worker()  # recovers on start

    _finished(run, 40)
    assert run.status == "completed", run.error
    attempts = dict(run.tasks.values_list("agent_slug", "attempts"))
    assert attempts == {"alpha": 1, "beta": 2, "gamma": 2}  # alpha was never run again
    assert list(run.tasks.order_by("position").values_list("result", flat=True)) == ["quick", slow, slow]
