"""Flag decision cost: ``rollout.decision.is_enabled`` with a warm cache beside a bare mmh3
hash-and-compare loop over the same user ids, and the database queries per chat request.

Sets up a temporary SQLite database and an embedded Redis (or uses ``DATABASE_URL`` and
``REDIS_URL`` when set), a ``multi_agent`` flag at 50% with a few overrides, then:

1. times ``is_enabled`` (warm) and the bare ``mmh3.hash(...) % 100 + 1 <= pct`` on the same ids,
   in batches (one timer read per batch: a single decision is shorter than the timer's own
   resolution), and prints p50 / p95 of the time per decision and the ratio;
2. sends ``POST /api/chat/message`` (bearer token, ``wait_seconds: 0``: the request path only, the
   reply is left to a worker) and counts the database queries per request once warm, in total and
   those issued from the rollout app's code (the goal is 0).

Usage::

    .venv/bin/python bench/flag_eval.py [--ids 100000] [--batch 1000] [--requests 20]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import traceback
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[1]
ROLLOUT_DIR = str(BASE_DIR / "rollout")


def _environment(work: Path):
    run_id = f"flagbench{os.getpid()}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["DJANGO_DEBUG"] = "0"
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key")
    os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1")
    os.environ.setdefault("SECURE_COOKIES", "0")
    os.environ.setdefault("LLM_MODEL", "scripted/default")
    os.environ.setdefault("CELERY_QUEUE", run_id)
    os.environ.setdefault("CACHE_PREFIX", run_id)
    os.environ.setdefault("CHANNELS_PREFIX", run_id)
    os.environ.setdefault("VAR_DIR", str(work))
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{work / 'bench.sqlite3'}")
    embedded = None
    if not os.environ.get("REDIS_URL"):
        sys.path.insert(0, str(BASE_DIR))
        from config.embedded_redis import EmbeddedRedis

        embedded = EmbeddedRedis(work / "redis" / "redis.sock")
        embedded.start()
        os.environ["REDIS_URL"] = embedded.url
    sys.path.insert(0, str(BASE_DIR))
    import django

    django.setup()
    return embedded


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def _time_batches(fn, ids: list[int], batch: int, rounds: int) -> list[float]:
    """Nanoseconds per call, one figure per batch."""
    per_call = []
    for _ in range(rounds):
        for start in range(0, len(ids), batch):
            chunk = ids[start : start + batch]
            began = time.perf_counter_ns()
            fn(chunk)
            per_call.append((time.perf_counter_ns() - began) / len(chunk))
    return per_call


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--ids", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=20)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="flag-bench-") as tmp:
        embedded = _environment(Path(tmp))
        try:
            run(args)
        finally:
            if embedded is not None:
                embedded.stop()


def run(args) -> None:
    import mmh3
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from accounts.auth import api_token_create
    from accounts.models import Account, Membership
    from agents.services import agent_ensure_default
    from rollout import decision
    from rollout.models import Phase
    from rollout.services import flag_create, flag_override_set, flag_update

    call_command("migrate", interactive=False, verbosity=0)
    account = Account.objects.create(slug="bench", name="Bench")
    agent_ensure_default(account=account)
    User = get_user_model()
    users = [User.objects.create(username=f"bench{i}") for i in range(5)]
    Membership.objects.bulk_create([Membership(user=u, account=account) for u in users])
    flag = flag_create(key=decision.MULTI_AGENT_FLAG, actor=None, reason="bench", source="command")
    flag_update(flag=flag, account=account, actor=None, reason="bench", source="command", phase=Phase.PARTIAL,
                override_gates=True)  # fmt: skip
    for user in users[:2]:
        flag_override_set(flag=flag, account=account, user=user, enabled=True, actor=None, reason="bench",
                          source="command")  # fmt: skip

    # --- 1. decisions ------------------------------------------------------------------
    ids = list(range(1, args.ids + 1))
    account_id = account.pk
    group = flag.hash_group
    percentage = 50.0
    key = decision.MULTI_AGENT_FLAG
    is_enabled, hash32 = decision.is_enabled, mmh3.hash

    def flagged(chunk: list[int]) -> None:
        for uid in chunk:
            is_enabled(key, uid, account_id)

    def bare(chunk: list[int]) -> None:
        for uid in chunk:
            hash32(f"{group}:{uid}", 0, signed=False) % 100 + 1 <= percentage  # noqa: B015 - the work timed

    def empty(chunk: list[int]) -> None:
        for _uid in chunk:
            pass

    flagged(ids[:1000])  # warm the snapshot
    pinned = {u.pk for u in users[:2]}
    agree = all(
        is_enabled(key, u, account_id) == (hash32(f"{group}:{u}", 0, signed=False) % 100 + 1 <= percentage)
        for u in ids
        if u not in pinned
    )
    timings = {}
    for name, fn in (("loop", empty), ("bare", bare), ("flag", flagged)):
        fn(ids[: args.batch])
        timings[name] = _time_batches(fn, ids, args.batch, args.rounds)
    with _queries(connection) as warm_queries:
        flagged(ids)

    def row(label: str, values: list[float]) -> str:
        return f"{label:<44} p50 {statistics.median(values):7.1f} ns   p95 {_percentile(values, 95):7.1f} ns"

    print(f"decisions over {len(ids):,} user ids, batches of {args.batch}, {args.rounds} rounds")
    print(row("empty loop (the loop itself)", timings["loop"]))
    print(row("bare mmh3 hash-and-compare", timings["bare"]))
    print(row("is_enabled, warm cache", timings["flag"]))
    ratio = statistics.median(timings["flag"]) / statistics.median(timings["bare"])
    print(
        f"is_enabled / bare, p50: {ratio:.2f}x   (goal: under 1 microsecond p50, within 3x of the bare hash)"
    )
    print(f"same answers as the bare hash for every id without an override: {agree}")
    print(f"database queries during {len(ids):,} warm decisions: {len(warm_queries.all)}")

    # --- 2. chat requests -----------------------------------------------------------------
    user = users[-1]
    _, token = api_token_create(user=user, name="bench")
    client = Client()
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}

    def send() -> int:
        response = client.post("/api/chat/message", {"message": "count=1", "wait_seconds": 0},
                               content_type="application/json", **headers)  # fmt: skip
        return response.status_code

    assert send() == 200  # warm: snapshot, token, URL resolution
    totals, from_rollout = [], []
    for _ in range(args.requests):
        with _queries(connection) as recorded:
            assert send() == 200
        totals.append(len(recorded.all))
        from_rollout.append(len(recorded.rollout))
    print()
    print(
        f"POST /api/chat/message, {args.requests} requests once warm (wait_seconds 0: the request path only)"
    )
    print(f"database queries per request: {statistics.median(totals):.0f} in total (min {min(totals)}, "
          f"max {max(totals)}); from the rollout code: {max(from_rollout)}  (goal: 0)")  # fmt: skip
    if max(from_rollout):
        print("  e.g.", recorded.rollout[:3])


class _queries:
    """Records the SQL run on ``connection``, and which of it came from rollout/ code."""

    def __init__(self, connection) -> None:
        self.connection = connection
        self.all: list[str] = []
        self.rollout: list[str] = []

    def __call__(self, execute, sql, params, many, context):
        self.all.append(sql)
        if any(frame.filename.startswith(ROLLOUT_DIR) for frame in traceback.extract_stack()):
            self.rollout.append(sql)
        return execute(sql, params, many, context)

    def __enter__(self):
        self._cm = self.connection.execute_wrapper(self)
        self._cm.__enter__()
        return self

    def __exit__(self, *exc):
        return self._cm.__exit__(*exc)


if __name__ == "__main__":
    main()
