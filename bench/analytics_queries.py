"""Analytics pages at scale on PostgreSQL: every section's queries over ~1M hand-offs, 200k
conversations and 2M messages.

    .venv/bin/python bench/analytics_queries.py [--database-url postgres://postgres@127.0.0.1:5432/analytics_bench]
        [--conversations 200000] [--runs 5]

Creates the database if it is missing, migrates it, and (once: a later run reuses the data) fills an
account ``bench`` with ``generate_traffic``'s synthetic traffic over 30 days, tuned to about seven
hand-offs per multi-agent conversation so that the hand-off table reaches a million rows; the pages'
aggregates (analytics.rollups) are built with it. Then, for each section and each window, it runs
everything the page computes (all its queries, in one call of the section's selector, and its charts)
``--runs`` times and prints the p50 in ms, and the worst p50. Goal: every page under 250 ms.
Exits 0 whether or not the goal is met; 1 if the bench itself fails.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
GOAL_MS = 250


def ensure_database(url: str) -> None:
    import psycopg

    parts = urlparse(url)
    name = parts.path.lstrip("/")
    admin_url = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin_url, autocommit=True) as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            connection.execute(f'CREATE DATABASE "{name}"')
            print(f"created database {name}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/analytics_bench")
    parser.add_argument("--conversations", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--windows", default="24h,7d,30d")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the aggregates before measuring")
    args = parser.parse_args()

    ensure_database(args.database_url)
    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("DJANGO_DEBUG", "1")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DB_CONN_MAX_AGE", "0")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    from django.contrib.auth import get_user_model

    from accounts.models import Account, Membership
    from agents.catalog.install import catalog_install_demo
    from agents.services import agent_ensure_default
    from analytics.sections import SECTIONS
    from analytics.traffic import TrafficProfile, traffic_generate
    from analytics.windows import window_parse
    from conversations.models import Conversation, Handoff, Message

    account, _ = Account.objects.get_or_create(slug="bench", defaults={"name": "Bench"})
    agent_ensure_default(account=account)
    catalog_install_demo(account=account)
    for index in range(20):
        user, _ = get_user_model().objects.get_or_create(username=f"bench-user-{index}")
        Membership.objects.get_or_create(user=user, account=account)

    have = Conversation.objects.filter(account=account).count()
    if have < args.conversations:
        missing = args.conversations - have
        print(f"generating {missing:,} conversations (COPY, in chunks of 5,000)...", flush=True)
        started = time.monotonic()
        profile = TrafficProfile(
            conversations=missing,
            days=30,
            turns_mean=5.0,
            handoff_share=0.8,
            handoffs_mean=8.0,
            seed=have + 1,
        )

        def progress(counts) -> None:
            if counts.conversations % 50_000 == 0:
                print(f"  {counts.conversations:,} ({time.monotonic() - started:.0f} s)", flush=True)

        traffic_generate(account=account, profile=profile, chunk=5000, progress=progress)
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
        print(f"generated in {time.monotonic() - started:.0f} s")

    from analytics.models import RollupState
    from analytics.rollups import rollups_rebuild

    if args.rebuild or not RollupState.objects.filter(account=account).exists():
        # Data generated before the aggregates existed: build them once (beat keeps them fresh).
        started = time.monotonic()
        rollups_rebuild(account=account)
        print(f"aggregates built in {time.monotonic() - started:.0f} s")

    conversations = Conversation.objects.filter(account=account).count()
    messages = Message.objects.filter(conversation__account=account).count()
    handoffs = Handoff.objects.filter(conversation__account=account).count()
    print(f"account bench: {conversations:,} conversations, {messages:,} messages, {handoffs:,} hand-offs")
    print(f"PostgreSQL: {connection.cursor().connection.info.server_version}; p50 of {args.runs} runs\n")

    windows = args.windows.split(",")
    print(f"{'page':<14}" + "".join(f"{w:>12}" for w in windows))
    worst = (0.0, "")
    for slug, section in SECTIONS.items():
        cells = []
        for name in windows:
            window = window_parse(window=name)
            section.compute(account=account, window=window)  # warm: plans, caches, scipy import
            timings = []
            for _ in range(args.runs):
                started = time.perf_counter()
                section.charts(section.compute(account=account, window=window))
                timings.append((time.perf_counter() - started) * 1000)
            p50 = statistics.median(timings)
            worst = max(worst, (p50, f"{slug} {name}"))
            cells.append(f"{p50:>9.0f} ms")
        print(f"{slug:<14}" + "".join(f"{c:>12}" for c in cells), flush=True)
    verdict = "met" if worst[0] < GOAL_MS else "NOT met"
    print(f"\nworst: {worst[1]} at {worst[0]:.0f} ms; goal every page under {GOAL_MS} ms: {verdict}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(1)
