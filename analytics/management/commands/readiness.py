"""python manage.py readiness --account demo [--format text|markdown|json] [--output FILE]

Runs the readiness checks for an account, keeps the report (the rollout gate reads it) and prints
it. Exit code 0 when PRODUCTION_READY, 1 otherwise, so a deploy script can stop on it."""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from accounts.models import Account
from analytics.release.models import ReadinessReport
from analytics.release.readiness import readiness_as_json, readiness_as_markdown, readiness_report_create


class Command(BaseCommand):
    help = "Run the readiness checks of an account and print the report."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--account", required=True, help="The account's slug.")
        parser.add_argument("--format", choices=["text", "markdown", "json"], default="text")
        parser.add_argument("--output", help="Write the report to this file instead of printing it.")

    def handle(self, *args, account: str, format: str, output: str | None, **options) -> None:
        found = Account.objects.filter(slug=account).first()
        if found is None:
            raise CommandError(f"No account '{account}'.")
        report = readiness_report_create(account=found, actor=None, source=ReadinessReport.Source.COMMAND)
        if format == "json":
            text = json.dumps(readiness_as_json(report), indent=2)
        elif format == "markdown":
            text = readiness_as_markdown(report)
        else:
            lines = [f"{c['status'].upper():4}  {c['label']}: {c['evidence']}" for c in report.checks]
            text = "\n".join([*lines, f"score {report.score}: {report.status}"])
        if output:
            Path(output).write_text(text)
            self.stdout.write(f"score {report.score}: {report.status}; written to {output}")
        else:
            self.stdout.write(text)
        if report.status != ReadinessReport.Status.PRODUCTION_READY:
            raise SystemExit(1)
