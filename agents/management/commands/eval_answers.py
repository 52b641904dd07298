"""Measure the offline model's answers on labelled questions (question -> article and key fact).

    python manage.py eval_answers [PATH] [--account demo]

Ends with ``top1_source: 0.xxx`` and ``key_fact: 0.xxx``. PATH defaults to the demo set shipped
in ``agents/fixtures/knowledge_questions.jsonl`` (over the demo articles).
"""

from __future__ import annotations

import logging

from django.core.management.base import BaseCommand, CommandError

from agents.knowledge.evaluation import DEMO_QUESTIONS, evaluate_answers, read_questions


class Command(BaseCommand):
    help = "Evaluate the offline model's grounded answers: top-1 source and key fact."

    def add_arguments(self, parser) -> None:
        parser.add_argument("path", nargs="?", default=str(DEMO_QUESTIONS), help="JSON-lines questions")
        parser.add_argument("--account", default="demo", help="slug of the account whose articles answer")
        parser.add_argument("--misses", type=int, default=10, help="how many misses to list")

    def handle(self, *args, path: str, account: str, misses: int, **options) -> None:
        from accounts.models import Account

        logging.getLogger("sentence_transformers").setLevel(logging.WARNING)
        try:
            questions = read_questions(path)
        except (OSError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        if not questions:
            raise CommandError(f"{path}: no labelled questions")
        found = Account.objects.filter(slug=account).first()
        if found is None:
            raise CommandError(f"no account '{account}'")
        report = evaluate_answers(account_id=found.pk, questions=questions)
        self.stdout.write(report.format(show_misses=misses))
