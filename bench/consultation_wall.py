"""Wall time of the escalation ladder's Phase 3 (three agents consulted as one consensus
run) divided by the slowest single consultation. Goal (issue 6): at most 1.3.

Each consultation is a scripted agent answering ``wait S agreed``: one word after S seconds,
so every consultation's own duration is known (by default 0.5, 0.75 and 1.0 s: the slowest
is ``--seconds``). For each repeat the bench opens an escalation (its policy turns Phases 1
and 2 off, so it enters Phase 3 straight away) and lets a real Celery worker process
(threads pool) do the rest, as in production: the phase task starts the consensus run, the
three consultations run, the ``run_finished`` receiver queues the collection, the votes are
stored and the phase is finished. It then reads what the ladder recorded:

- wall: the Phase 3 ``PhaseRun`` from its claim to its finish (``duration_ms``);
- slowest single: the known S of the slowest consultation, and the slowest consultation's
  measured duration (its TaskRun's start -> finish);
- ratio: wall / slowest, both ways.

Sets up its own SQLite database and embedded Redis (or uses ``DATABASE_URL`` /
``REDIS_URL``), its own queue, and removes them on exit. Usage::

    .venv/bin/python bench/consultation_wall.py --repeats 5 --seconds 1.0
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from bench.worker_environment import WorkerEnvironment  # noqa: E402 - after the path is set

GOAL = 1.3


def _log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def _setup():
    """An account whose policy starts the ladder at Phase 3, its three consultants, a user."""
    from django.contrib.auth import get_user_model

    from accounts.models import Account, Membership
    from agents.models import AgentInstance, AgentTemplate
    from agents.services import agent_ensure_default
    from escalations.services import policy_for_account

    account = Account.objects.create(slug=f"bench{os.getpid()}", name="Consultation bench")
    agent_ensure_default(account=account)
    template = AgentTemplate.objects.create(slug="bench-consultant", name="Bench consultant")
    agents = [
        AgentInstance.objects.create(account=account, template=template, slug=f"c{i}", name=f"Consultant {i}")
        for i in range(3)
    ]
    policy = policy_for_account(account_id=account.pk)
    policy.quick_fix_enabled = policy.research_enabled = False
    policy.email_operators = False
    policy.save()
    policy.consultation_agents.set(agents)
    user = get_user_model().objects.create_user(username=f"bench{os.getpid()}")
    Membership.objects.create(user=user, account=account)
    return account, agents, user


def _consult_once(account, agents, user, durations: list[float]) -> dict:
    from conversations.models import Conversation, Message
    from escalations.models import Escalation, PhaseRun
    from escalations.services import escalation_open

    script = " || ".join(f"@{a.slug}: wait {s} agreed" for a, s in zip(agents, durations, strict=True))
    conversation = Conversation.objects.create(account=account, user=user, title="bench")
    message = Message.objects.create(conversation=conversation, role="user", content=f"Help? || {script}")
    escalation, _ = escalation_open(
        conversation=conversation, message=message, trigger="cannot_resolve", reason="bench"
    )  # queues Phase 3 on the worker once committed
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        escalation.refresh_from_db()
        if escalation.status != Escalation.Status.LADDER:
            break
        time.sleep(0.02)
    run = PhaseRun.objects.get(escalation=escalation, phase="consultation")
    if escalation.resolved_by_phase != "consultation":
        raise RuntimeError(f"escalation #{escalation.pk} left Phase 3 as {run.outcome}: {run.detail}")
    measured = [t.duration_seconds for t in escalation.workflow_run.tasks.all()]
    return {"wall": run.duration_ms / 1000, "slowest_measured": max(measured)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="Phase 3 runs")
    parser.add_argument("--seconds", type=float, default=1.0, help="the slowest consultation's duration")
    args = parser.parse_args(argv)

    environment = WorkerEnvironment(prefix="consultation", concurrency=8)
    try:
        environment.setup_django()
        account, agents, user = _setup()
        environment.start_worker()
        durations = [round(args.seconds * (i + 2) / 4, 3) for i in range(3)]
        _log("warm-up run")
        _consult_once(account, agents, user, durations)
        rows = []
        for index in range(args.repeats):
            rows.append(_consult_once(account, agents, user, durations))
            _log(f"run {index + 1}/{args.repeats}: wall {rows[-1]['wall']:.3f} s")
        wall = statistics.median(r["wall"] for r in rows)
        slowest_measured = statistics.median(r["slowest_measured"] for r in rows)
        known = max(durations)
        print(f"three consultations of {durations} s, {args.repeats} Phase 3 runs on a real worker")
        print(f"Phase 3 wall time: median {wall:.3f} s (min {min(r['wall'] for r in rows):.3f}, "
              f"max {max(r['wall'] for r in rows):.3f})")  # fmt: skip
        print(f"slowest single consultation: {known:.3f} s known, {slowest_measured:.3f} s measured")
        print(f"wall / slowest (known): {wall / known:.3f}")
        print(f"wall / slowest (measured): {wall / slowest_measured:.3f}")
        verdict = "met" if wall / known <= GOAL else "NOT met"
        print(f"goal Phase 3 wall at most {GOAL}x the slowest consultation: {wall / known:.3f}x, {verdict}")
        return 0
    finally:
        environment.close()


if __name__ == "__main__":
    sys.exit(main())
