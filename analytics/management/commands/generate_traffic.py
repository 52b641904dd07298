"""Synthetic traffic for an account, for the analytics demo and the benchmark.

python manage.py generate_traffic --conversations 5000 [--account demo] [--days 30]
"""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError

from accounts.models import Account
from analytics.traffic import GeneratedCounts, TrafficProfile, traffic_generate


class Command(BaseCommand):
    help = (
        "Insert realistic synthetic conversations (both arms, hand-offs, failures, feedback) for an account."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--conversations", type=int, required=True)
        parser.add_argument("--account", default="demo", help="slug of the account (default: demo)")
        parser.add_argument("--days", type=float, default=30.0, help="spread over the last N days")
        parser.add_argument("--legacy-share", type=float, default=0.3, help="share served by the legacy arm")
        parser.add_argument("--turns", type=float, default=3.0, help="mean user messages per conversation")
        parser.add_argument(
            "--handoff-share", type=float, default=0.15, help="multi-agent conversations with later hand-offs"
        )
        parser.add_argument(
            "--handoffs", type=float, default=1.5, help="mean hand-offs in such a conversation"
        )
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--chunk", type=int, default=2000, help="conversations written per transaction")

    def handle(self, *args, **options) -> None:
        if options["conversations"] < 1:
            raise CommandError("--conversations must be at least 1")
        if not 0 <= options["legacy_share"] <= 1 or not 0 <= options["handoff_share"] <= 1:
            raise CommandError("--legacy-share and --handoff-share are shares between 0 and 1")
        if options["days"] <= 0 or options["turns"] < 1:
            raise CommandError("--days must be positive and --turns at least 1")
        account = Account.objects.filter(slug=options["account"]).first()
        if account is None:
            raise CommandError(f"no account '{options['account']}'")
        profile = TrafficProfile(
            conversations=options["conversations"], days=options["days"],
            legacy_share=options["legacy_share"],
            turns_mean=options["turns"], handoff_share=options["handoff_share"],
            handoffs_mean=options["handoffs"], seed=options["seed"],
        )  # fmt: skip
        started = time.monotonic()

        def progress(counts: GeneratedCounts) -> None:
            self.stdout.write(
                f"  {counts.conversations:,} conversations ({time.monotonic() - started:.0f} s)"
            )

        try:
            counts = traffic_generate(
                account=account, profile=profile, chunk=options["chunk"], progress=progress
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"account {account.slug}: {counts.conversations:,} conversations, {counts.messages:,} messages, "
            f"{counts.handoffs:,} hand-offs, {counts.guardrail_events:,} guard-rail events, "
            f"{counts.tool_calls:,} tool calls, {counts.approvals:,} approvals, "
            f"{counts.escalations:,} escalations "
            f"in {time.monotonic() - started:.1f} s"
        )
