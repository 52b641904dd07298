"""Each mode end to end in this process (Celery eager), on the scripted model."""

from __future__ import annotations

import pytest

from orchestration.models import WorkflowRun
from orchestration.services import run_start
from orchestration.signals import run_finished

pytestmark = [pytest.mark.django_db(transaction=True)]


def _task(agent: str, text: str = "", **extra) -> dict:
    return {"agent": agent, "capability": None, "description": "", "input": text, **extra}


@pytest.fixture
def finished_runs():
    seen: list[WorkflowRun] = []

    def receiver(sender, run, **kwargs):
        seen.append(run)

    run_finished.connect(receiver, weak=False)
    yield seen
    run_finished.disconnect(receiver)


def test_sequential_runs_in_order_and_passes_each_result_on(account, trio, eager_celery, finished_runs):
    run = run_start(
        account=account,
        mode="sequential",
        tasks=[
            _task("alpha", "@alpha: say first result"),
            _task("beta", "continue"),
            _task("gamma", "@gamma: say done"),
        ],
    )
    run.refresh_from_db()
    assert run.status == "completed", run.error
    tasks = list(run.tasks.order_by("position"))
    assert [t.status for t in tasks] == ["completed"] * 3
    assert tasks[0].finished_at <= tasks[1].started_at <= tasks[1].finished_at <= tasks[2].started_at
    # beta is unscripted, so it echoes its prompt: alpha's result was passed on.
    assert "Result of the previous step (alpha):\nfirst result" in tasks[1].result
    assert run.result["answer"] == "done"
    assert [r.pk for r in finished_runs] == [run.pk]


def test_strict_sequence_stops_at_the_first_failure_and_cancels_the_rest(account, trio, eager_celery):
    run = run_start(
        account=account,
        mode="sequential",
        strict=True,
        tasks=[
            _task("alpha", "@alpha: say ok"),
            _task("beta", "@beta: fail boom", max_attempts=1),
            _task("gamma", "x"),
        ],
    )
    run.refresh_from_db()
    assert run.status == "failed"
    assert "Step 2 failed" in run.error and "boom" in run.error
    assert list(run.tasks.order_by("position").values_list("status", flat=True)) == [
        "completed",
        "failed",
        "cancelled",
    ]
    assert run.tasks.get(position=2).attempts == 0  # never started


def test_non_strict_sequence_passes_the_failure_on_and_continues(account, trio, eager_celery):
    run = run_start(
        account=account,
        mode="sequential",
        strict=False,
        tasks=[_task("alpha", "@alpha: fail broken", max_attempts=1), _task("beta", "carry on")],
    )
    run.refresh_from_db()
    assert run.status == "completed"
    first, second = run.tasks.order_by("position")
    assert first.status == "failed" and "broken" in first.error
    assert second.status == "completed"
    assert "The previous step (alpha) failed:" in second.result
    assert run.result["failed_tasks"] == 1


def test_parallel_run_collects_every_result(account, trio, eager_celery):
    run = run_start(
        account=account,
        mode="parallel",
        tasks=[_task(a.slug, f"@{a.slug}: say answer from {a.slug}") for a in trio],
    )
    run.refresh_from_db()
    assert run.status == "completed"
    assert [r["result"] for r in run.result["tasks"]] == [f"answer from {a.slug}" for a in trio]
    assert run.tokens > 0


@pytest.mark.parametrize(
    ("strategy", "expected"),
    [
        ("concat", "## Alpha\n\nvendor A\n\n## Beta\n\nvendor B\n\n## Gamma\n\nvendor B"),
        ("vote", "vendor B"),
        ("merge", "the merged plan"),
    ],
)
def test_hierarchical_run_aggregates_by_each_strategy(account, trio, eager_celery, strategy, expected):
    run = run_start(
        account=account,
        mode="hierarchical",
        strategy=strategy,
        request="@assistant: say the merged plan",
        tasks=[
            _task("alpha", "@alpha: say vendor A"),
            _task("beta", "@beta: say vendor B"),
            _task("gamma", "@gamma: say Vendor b."),
        ],
    )
    run.refresh_from_db()
    assert run.status == "completed", run.error
    assert run.result["strategy"] == strategy
    if strategy == "vote":
        assert run.result["answer"] == "vendor B"
        assert run.result["agreement"] == pytest.approx(2 / 3, abs=1e-3)
    elif strategy == "merge":
        assert run.result["answer"] == expected
        assert run.aggregator.slug == "assistant"
    else:
        assert run.result["answer"] == expected.replace(
            "vendor B\n\n## Gamma\n\nvendor B", "vendor B\n\n## Gamma\n\nVendor b."
        )


def test_consensus_reached(account, trio, eager_celery):
    script = "@alpha: say Yes.\n@beta: say yes\n@gamma: say no"
    run = run_start(account=account, mode="consensus", min_agreement=0.6, request=script,
                    tasks=[_task(a.slug, "Is it safe to restart?") for a in trio])  # fmt: skip
    run.refresh_from_db()
    assert run.status == "completed"
    result = run.result
    assert result["consensus"] is True
    assert result["agreement"] == pytest.approx(0.6667, abs=1e-3)
    assert result["answer"] == "Yes."
    assert [(v["agent"], v["normalised"], v["vote"]) for v in result["votes"]] == [
        ("alpha", "yes", True), ("beta", "yes", True), ("gamma", "no", False),
    ]  # fmt: skip
    assert all(v["task_id"] for v in result["votes"])


def test_consensus_not_reached_below_the_minimum(account, trio, eager_celery):
    script = "@alpha: say yes\n@beta: say yes\n@gamma: say no"
    run = run_start(account=account, mode="consensus", min_agreement=0.75, request=script,
                    tasks=[_task(a.slug, "Q") for a in trio])  # fmt: skip
    run.refresh_from_db()
    assert run.result["consensus"] is False
    assert run.result["answer"] == "yes"  # the leading answer, short of the minimum
    assert run.status == "completed"


def test_consensus_tie_has_no_winner(account, trio, make_agent, eager_celery):
    make_agent(account, "delta")
    script = "@alpha: say yes\n@beta: say no\n@gamma: say no\n@delta: say yes"
    run = run_start(account=account, mode="consensus", min_agreement=0.5, request=script,
                    tasks=[_task(s, "Q") for s in ("alpha", "beta", "gamma", "delta")])  # fmt: skip
    run.refresh_from_db()
    assert run.result["consensus"] is False
    assert run.result["tie"] is True
    assert run.result["answer"] == ""
    assert not any(v["vote"] for v in run.result["votes"])


def test_a_failed_voter_counts_against_agreement(account, trio, eager_celery):
    script = "@alpha: say yes\n@beta: say yes\n@gamma: fail down"
    run = run_start(account=account, mode="consensus", min_agreement=0.7, request=script,
                    tasks=[_task(a.slug, "Q", max_attempts=1) for a in trio])  # fmt: skip
    run.refresh_from_db()
    assert run.result["consensus"] is False
    assert run.result["agreement"] == pytest.approx(0.6667, abs=1e-3)
    gamma = run.tasks.get(position=2).pk
    assert run.result["votes"][2] == {
        "task_id": gamma, "agent": "gamma", "answer": "", "normalised": "", "vote": False,
    }  # fmt: skip


def test_unavailable_agent_fails_only_its_task(account, trio, make_agent, other_account, eager_celery):
    make_agent(account, "sleepy", status="suspended")
    make_agent(other_account, "foreign")
    run = run_start(
        account=account,
        mode="parallel",
        tasks=[
            _task("alpha", "@alpha: say fine"),
            _task("sleepy", "x"),
            _task("foreign", "x"),
            _task("nobody", "x"),
        ],
    )
    run.refresh_from_db()
    assert run.status == "completed"
    tasks = list(run.tasks.order_by("position"))
    assert tasks[0].status == "completed"
    assert [t.error for t in tasks[1:]] == [
        "agent sleepy is not available in this account",
        "agent foreign is not available in this account",
        "agent nobody is not available in this account",
    ]
    assert all(t.status == "failed" for t in tasks[1:])


def test_a_failed_attempt_is_retried_and_counted(account, trio, eager_celery, settings):
    settings.ORCHESTRATION_RETRY_BACKOFF_SECONDS = 0.01
    run = run_start(
        account=account, mode="parallel", tasks=[_task("alpha", "@alpha: fail flaky; say recovered")]
    )
    run.refresh_from_db()
    task = run.tasks.get()
    assert (task.status, task.result, task.attempts) == ("completed", "recovered", 2)


def test_attempts_run_out(account, trio, eager_celery, settings):
    settings.ORCHESTRATION_RETRY_BACKOFF_SECONDS = 0.01
    run = run_start(
        account=account, mode="parallel", tasks=[_task("alpha", "@alpha: fail down", max_attempts=3)]
    )
    run.refresh_from_db()
    task = run.tasks.get()
    assert (task.status, task.attempts) == ("failed", 3)
    assert "down" in task.error
    assert run.status == "failed"


def test_a_task_slower_than_its_timeout_fails(account, trio, eager_celery):
    run = run_start(
        account=account,
        mode="parallel",
        tasks=[
            _task("alpha", "@alpha: wait 0.2 one two three four five", timeout_seconds=0.3, max_attempts=1)
        ],
    )
    run.refresh_from_db()
    task = run.tasks.get()
    assert task.status == "failed"
    assert "no complete answer within 0.3 s" in task.error
    assert task.duration_seconds < 1.0


def test_a_judge_groups_answers_that_mean_the_same(account, trio, make_agent, eager_celery):
    make_agent(account, "judge")
    script = (
        "@alpha: say Restart the service.\n@beta: say Reboot the service\n@gamma: say Escalate it\n"
        "@judge: say 1 1 3"
    )
    run = run_start(account=account, mode="consensus", min_agreement=0.6, judge="judge", request=script,
                    tasks=[_task(a.slug, "What now?") for a in trio])  # fmt: skip
    run.refresh_from_db()
    assert run.status == "completed", run.error
    result = run.result
    assert result["consensus"] is True
    assert result["agreement"] == pytest.approx(0.6667, abs=1e-3)
    assert result["answer"] == "Restart the service."
    assert [v["vote"] for v in result["votes"]] == [True, True, False]
    assert result["judge"] == {"agent": "judge", "reply": "1 1 3", "used": True}


def test_an_unusable_judge_reply_falls_back_to_normalised_answers(account, trio, make_agent, eager_celery):
    make_agent(account, "judge")
    script = "@alpha: say yes\n@beta: say Yes!\n@gamma: say no\n@judge: say I think they mostly agree"
    run = run_start(account=account, mode="consensus", judge="judge", request=script,
                    tasks=[_task(a.slug, "Q") for a in trio])  # fmt: skip
    run.refresh_from_db()
    assert run.result["consensus"] is True and run.result["answer"] == "yes"
    assert run.result["judge"]["used"] is False


def test_a_judge_only_applies_to_consensus(account, trio):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as error:
        run_start(account=account, mode="parallel", judge="alpha", tasks=[_task("alpha", "x")])
    assert error.value.message_dict == {"judge": ["A judge applies to consensus runs only."]}


def test_recovery_starts_a_run_whose_start_was_lost_and_only_that(account, trio, eager_celery):
    from datetime import timedelta

    from django.utils import timezone

    import durable
    from orchestration.services import run_create

    lost = run_create(account=account, mode="parallel", tasks=[_task("alpha", "@alpha: say recovered")])
    fresh = run_create(account=account, mode="parallel", tasks=[_task("alpha", "x")])
    WorkflowRun.objects.filter(pk=lost.pk).update(created_at=timezone.now() - timedelta(minutes=1))
    durable.recover_all()
    lost.refresh_from_db()
    fresh.refresh_from_db()
    assert lost.status == "completed" and lost.tasks.get().result == "recovered"
    assert fresh.status == "pending"  # just saved: its own start is still on the way


def test_the_backoff_doubles_with_each_attempt(account, trio, settings):
    from orchestration.models import TaskRun
    from orchestration.runner import retry_delay
    from orchestration.services import run_create

    settings.ORCHESTRATION_RETRY_BACKOFF_SECONDS = 1.5
    task = run_create(account=account, mode="parallel", tasks=[_task("alpha", "x")]).tasks.get()
    delays = []
    for attempts in (1, 2, 3):
        TaskRun.objects.filter(pk=task.pk).update(attempts=attempts)
        delays.append(retry_delay(task.pk))
    assert delays == [1.5, 3.0, 6.0]
