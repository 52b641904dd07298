"""Run an evaluation dataset through the turn engine and print its figures.

    python manage.py eval_run [--account demo] [--dataset "Demo assistant suite"] [--user admin]
                              [--import PATH.jsonl|PATH.csv] [--inline]

By default the run is queued on the Celery workers and followed here (n of m) until it ends;
``--inline`` runs it in this process instead (no worker needed). ``--import`` loads (or replaces)
the named dataset from a file first. Ends with ``pass_rate: 0.xxx`` and ``routing_accuracy: 0.xxx``.
"""

from __future__ import annotations

import time
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from accounts.models import Account
from analytics.evaluation.datasets import DatasetFileError, dataset_import
from analytics.evaluation.demo import DEMO_DATASET
from analytics.evaluation.models import EvaluationDataset, EvaluationRun
from analytics.evaluation.runner import EvaluationRunError, evaluation_run_advance, evaluation_run_start


def _share(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


class Command(BaseCommand):
    help = "Run an evaluation dataset (hidden conversations, no side effects) and print its figures."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--account", default="demo")
        parser.add_argument("--dataset", default=DEMO_DATASET, help="the dataset's name")
        parser.add_argument("--user", help="username the hidden conversations belong to (default: an admin)")
        parser.add_argument(
            "--import", dest="import_path", help="load the dataset from this .jsonl or .csv first"
        )
        parser.add_argument("--inline", action="store_true", help="run here instead of on the workers")
        parser.add_argument("--timeout", type=float, default=3600, help="seconds to follow a queued run")

    def handle(self, *args, **options) -> None:
        account = Account.objects.filter(slug=options["account"]).first()
        if account is None:
            raise CommandError(f"No account '{options['account']}'.")
        user = None
        if options["user"]:
            user = get_user_model().objects.filter(username=options["user"]).first()
            if user is None:
                raise CommandError(f"No user '{options['user']}'.")
        if options["import_path"]:
            path = Path(options["import_path"])
            try:
                content = path.read_text(encoding="utf-8")
                dataset_import(
                    account=account,
                    name=options["dataset"],
                    content=content,
                    file_format=path.suffix.lstrip("."),
                )
            except (OSError, UnicodeDecodeError) as exc:
                raise CommandError(f"{path}: cannot read ({exc})") from exc
            except DatasetFileError as exc:
                raise CommandError(f"{path}:\n  " + "\n  ".join(exc.errors)) from exc
        dataset = EvaluationDataset.objects.filter(account=account, name=options["dataset"]).first()
        if dataset is None:
            raise CommandError(f"No dataset '{options['dataset']}' in account '{account.slug}'.")
        try:
            run = evaluation_run_start(
                account=account, dataset=dataset, user=user, queue=not options["inline"]
            )
        except EvaluationRunError as exc:
            raise CommandError(f"{exc.field}: {exc}") from exc
        self.stdout.write(f"run #{run.pk}: {run.total} cases of {dataset.name} v{run.dataset_version}")
        if options["inline"]:
            settings.EVALUATION_BATCH_SECONDS = float("inf")  # one batch: nothing else would take the next
            evaluation_run_advance(run_id=run.pk)
        else:
            self._follow(run, options["timeout"])
        run.refresh_from_db()
        self._report(run)

    def _follow(self, run: EvaluationRun, timeout: float) -> None:
        ends, shown = time.monotonic() + timeout, -1
        while time.monotonic() < ends:
            run.refresh_from_db()
            if run.done != shown:
                shown = run.done
                self.stdout.write(f"  {run.done} of {run.total} ({run.passed} passed)")
            if run.status in (EvaluationRun.Status.COMPLETE, EvaluationRun.Status.FAILED):
                return
            time.sleep(1)
        raise CommandError(
            f"run #{run.pk} is still {run.status} after {timeout:.0f} s (is a worker running?)"
        )

    def _report(self, run: EvaluationRun) -> None:
        if run.status != EvaluationRun.Status.COMPLETE:
            raise CommandError(f"run #{run.pk} {run.status}: {run.error}")
        f = run.figures
        for row in f["per_agent"]:
            self.stdout.write(
                f"  {row['agent']:<22} {row['passed']}/{row['total']}  {_share(row['pass_rate'])}"
            )
        for result in run.results.filter(status="failed")[:20]:
            failed = "; ".join(
                f"{c['check']}: expected {c['expected']}, got {c['got']}"
                for c in result.checks
                if not c["passed"]
            )
            self.stdout.write(f"  FAIL {result.case_key}: {failed}")
        self.stdout.write(f"out_of_scope_recall: {_share(f['out_of_scope_recall'])}")
        self.stdout.write(f"false_out_of_scope_rate: {_share(f['false_out_of_scope_rate'])}")
        self.stdout.write(f"source_accuracy: {_share(f['source_accuracy'])}")
        self.stdout.write(f"tool_correctness: {_share(f['tool_correctness'])}")
        self.stdout.write(f"latency_p50_ms: {f['latency_p50_ms']}  latency_p95_ms: {f['latency_p95_ms']}")
        self.stdout.write(f"tokens: {f['tokens']}  cost_usd: {f['cost_usd']}")
        self.stdout.write(f"routing_accuracy: {_share(f['routing_accuracy'])}")
        self.stdout.write(f"pass_rate: {f['pass_rate']:.3f}")
