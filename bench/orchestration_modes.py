"""Wall time of each orchestration mode against its ideal, and the scheduling overhead per
task against a bare Celery round trip, measured side by side in one run.

Every task is a scripted agent answering ``wait S done``: one word after S seconds, so a
task's own duration is known. For each mode the bench starts runs through
``orchestration.services.run_start`` (as the web process does) on a real Celery worker
process (threads pool) and reads the timings the run recorded:

- wall: run created -> run finished;
- ideal: the sum of the task durations (sequential), the slowest task (parallel,
  consensus), the slowest task plus the merge (hierarchical, merge by a model);
- overhead per task: everything a task spends beyond its model's S seconds, from the
  moment it became runnable (``enqueued_at``) to the moment it is recorded finished;
- bare round trip: ``celery.accumulate`` (a built-in no-op) sent to the same worker, timed
  from send to its ``task-succeeded`` event.

Goals (issue 5): parallel and consensus within 1.3x of the slowest task; overhead per task
under 2x a bare Celery round trip. Sets up its own SQLite database and embedded Redis (or
uses ``DATABASE_URL`` / ``REDIS_URL``), its own queue, and removes them on exit. Usage::

    .venv/bin/python bench/orchestration_modes.py --repeats 5 --seconds 1.0
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from bench.worker_environment import WorkerEnvironment  # noqa: E402 - after the path is set


def _log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


class BareRoundTrip:
    """Send -> task-succeeded event of a no-op task on the same worker."""

    def __init__(self) -> None:
        from config.celery import app

        self.app = app
        self.sent: dict[str, float] = {}
        self.done: dict[str, float] = {}
        self.ready = threading.Event()
        self.receiver = None
        self.thread = threading.Thread(target=self._listen, daemon=True)
        self.thread.start()
        self.ready.wait(10)

    def _listen(self) -> None:
        with self.app.connection() as connection:

            def succeeded(event: dict) -> None:
                self.done.setdefault(event["uuid"], time.time())

            self.receiver = self.app.events.Receiver(connection, handlers={"task-succeeded": succeeded})
            self.ready.set()
            self.receiver.capture(limit=None, timeout=None, wakeup=True)

    def measure(self, count: int) -> list[float]:
        from django.conf import settings

        samples = []
        for _ in range(count):
            started = time.time()
            result = self.app.send_task(
                "celery.accumulate", args=(1,), queue=settings.CELERY_TASK_DEFAULT_QUEUE
            )
            self.sent[result.id] = started
            deadline = time.monotonic() + 10
            while result.id not in self.done and time.monotonic() < deadline:
                time.sleep(0.001)
            if result.id in self.done:
                samples.append(self.done[result.id] - started)
        return samples

    def stop(self) -> None:
        if self.receiver is not None:
            self.receiver.should_stop = True


def _agents(count: int):
    from accounts.models import Account
    from agents.models import AgentInstance, AgentTemplate
    from agents.services import agent_ensure_default

    account = Account.objects.create(slug=f"bench{os.getpid()}", name="Orchestration bench")
    agent_ensure_default(account=account)
    template = AgentTemplate.objects.create(slug="bench-kind", name="Bench kind")
    agents = [
        AgentInstance.objects.create(account=account, template=template, slug=f"a{i}", name=f"Agent {i}")
        for i in range(count)
    ]
    return account, agents


def _run_once(account, agents, mode: str, durations: list[float], merge_seconds: float) -> dict:
    from orchestration.models import WorkflowRun
    from orchestration.services import run_start

    script = [
        f"@{agent.slug}: wait {seconds} done" for agent, seconds in zip(agents, durations, strict=False)
    ]
    options: dict = {}
    if mode == "hierarchical":
        script.append(f"@assistant: wait {merge_seconds} merged")
        options = {"strategy": "merge"}
    if mode == "consensus":
        options = {"min_agreement": 0.5}
    run = run_start(
        account=account, mode=mode, request="\n".join(script),
        tasks=[{"agent": agent.slug, "input": "go"} for agent in agents[: len(durations)]], **options,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        run = WorkflowRun.objects.get(pk=run.pk)
        if run.is_final:
            break
        time.sleep(0.02)
    if run.status != "completed":
        raise RuntimeError(f"{mode} run #{run.pk} ended {run.status}: {run.error}")
    tasks = list(run.tasks.order_by("position"))
    wall = (run.finished_at - run.created_at).total_seconds()
    if mode == "sequential":
        ideal = sum(durations)
    elif mode == "hierarchical":
        ideal = max(durations) + merge_seconds
    else:
        ideal = max(durations)
    # Scheduling: the task's time from runnable to recorded finished, less its model call
    # (latency_ms, measured around the gateway call). The gateway's own cost beyond the
    # scripted S seconds (litellm) is reported apart: a bare Celery task has no model call.
    overheads = [(t.finished_at - t.enqueued_at).total_seconds() - t.latency_ms / 1000 for t in tasks]
    gateway = [t.latency_ms / 1000 - seconds for t, seconds in zip(tasks, durations, strict=True)]
    # Of which dispatch: runnable -> claimed by a worker thread (broker, worker, claim).
    dispatch = [(t.started_at - t.enqueued_at).total_seconds() for t in tasks]
    return {"wall": wall, "ideal": ideal, "overheads": overheads, "gateway": gateway, "dispatch": dispatch}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="runs per mode")
    parser.add_argument("--seconds", type=float, default=1.0, help="the slowest task's duration")
    parser.add_argument("--tasks", type=int, default=3, help="tasks per run")
    parser.add_argument("--round-trips", type=int, default=50, help="bare Celery round trips")
    args = parser.parse_args(argv)

    environment = WorkerEnvironment(
        prefix="orchestration", concurrency=max(8, args.tasks * 2), worker_events=True
    )
    try:
        environment.setup_django()
        account, agents = _agents(args.tasks)
        environment.start_worker()
        bare = BareRoundTrip()
        bare.measure(5)  # warm-up
        # Known durations: the slowest is --seconds, the others shorter.
        durations = [round(args.seconds * (i + 1) / args.tasks, 3) for i in range(args.tasks)]
        merge_seconds = round(args.seconds / 2, 3)
        _run_once(account, agents, "parallel", durations, merge_seconds)  # warm-up

        results: dict[str, list[dict]] = {}
        round_trips: list[float] = []
        for _ in range(args.repeats):
            # Interleaved, so slow moments of a shared machine hit every mode alike.
            round_trips += bare.measure(max(1, args.round_trips // args.repeats))
            for mode in ("sequential", "parallel", "hierarchical", "consensus"):
                results.setdefault(mode, []).append(
                    _run_once(account, agents, mode, durations, merge_seconds)
                )
        bare.stop()

        bare_ms = statistics.median(round_trips) * 1000
        print(f"task durations {durations} s, merge {merge_seconds} s, {args.repeats} runs per mode")
        print(f"bare Celery round trip: median {bare_ms:.1f} ms over {len(round_trips)}")
        print(
            f"{'mode':<13} {'ideal s':>8} {'wall s (median)':>16} {'wall/ideal':>11} "
            f"{'scheduling/task ms':>19} {'of which dispatch':>18} {'gateway/task ms':>16}"
        )
        overall: list[float] = []
        gateway: list[float] = []
        ratios: dict[str, float] = {}
        for mode, rows in results.items():
            wall = statistics.median(r["wall"] for r in rows)
            ideal = rows[0]["ideal"]
            overheads = [o for r in rows for o in r["overheads"]]
            gateways = [g for r in rows for g in r["gateway"]]
            dispatch = statistics.median(d for r in rows for d in r["dispatch"]) * 1000
            overall += overheads
            gateway += gateways
            ratios[mode] = wall / ideal
            print(
                f"{mode:<13} {ideal:>8.2f} {wall:>16.3f} {wall / ideal:>11.3f} "
                f"{statistics.median(overheads) * 1000:>19.1f} {dispatch:>18.1f} "
                f"{statistics.median(gateways) * 1000:>16.1f}"
            )
        per_task_ms = statistics.median(overall) * 1000
        print(
            f"scheduling overhead per task: median {per_task_ms:.1f} ms = {per_task_ms / bare_ms:.2f}x "
            f"a bare round trip; the gateway (litellm) adds {statistics.median(gateway) * 1000:.1f} ms"
        )
        for mode in ("parallel", "consensus"):
            verdict = "met" if ratios[mode] <= 1.3 else "NOT met"
            print(f"goal {mode} within 1.3x of the slowest task: {ratios[mode]:.3f}x, {verdict}")
        verdict = "met" if per_task_ms <= 2 * bare_ms else "NOT met"
        print(f"goal overhead per task under 2x a bare round trip: {per_task_ms / bare_ms:.2f}x, {verdict}")
        return 0
    finally:
        environment.close()


if __name__ == "__main__":
    sys.exit(main())
