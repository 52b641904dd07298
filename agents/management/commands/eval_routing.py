"""Measure the router on a labelled JSON-lines file, with an account's agents as the catalog.

    python manage.py eval_routing PATH [--account demo] [--cross-validate]

Prints per-agent precision and recall, the confusions, latency, and ends with ``accuracy: 0.xxx``.
"""

from __future__ import annotations

import logging

from django.core.management.base import BaseCommand, CommandError

from agents.routing.evaluation import LabelledFileError, evaluate, read_labelled
from agents.routing.evaluation import cross_validate as cross_validate_profiles
from agents.routing.router import Router
from agents.services import routing_evaluation_record


def _profiles_for(account):
    """The account's active agents as routing profiles.

    Uses ``agents.selectors.routing_profiles_for_account``; only while that selector does not exist
    yet (ImportError), falls back to the demo catalog.
    """
    try:
        from agents.selectors import routing_profiles_for_account
    except ImportError:
        from agents.catalog.demo import demo_profiles

        return demo_profiles(), "demo catalog (agents.selectors.routing_profiles_for_account not available)"
    return list(routing_profiles_for_account(account=account)), f"agents of account '{account.slug}'"


class Command(BaseCommand):
    help = 'Evaluate agent routing on labelled queries (JSON lines: {"query": ..., "agent": ...}).'

    def add_arguments(self, parser) -> None:
        parser.add_argument("path", help="JSON-lines file of labelled queries")
        parser.add_argument("--account", default="demo", help="slug of the account whose agents route")
        parser.add_argument(
            "--cross-validate",
            action="store_true",
            help="also report 5-fold cross-validated accuracy over the agents' own routing examples",
        )
        parser.add_argument("--errors", type=int, default=10, help="how many misrouted queries to list")
        parser.add_argument(
            "--no-store",
            action="store_true",
            help="do not keep the result (by default it is stored for rollout gates and analytics)",
        )

    def handle(
        self, *args, path: str, account: str, cross_validate: bool, errors: int, no_store: bool, **options
    ) -> None:
        from accounts.models import Account

        # sentence-transformers draws a progress bar per encode() when its logger is at INFO (the
        # project's root level): noise in the report and time in the latency figures.
        logging.getLogger("sentence_transformers").setLevel(logging.WARNING)
        try:
            rows = read_labelled(path)
        except LabelledFileError as exc:
            raise CommandError(str(exc)) from exc
        if not rows:
            raise CommandError(f"{path}: no labelled queries")

        found = Account.objects.filter(slug=account).first()
        if found is None:
            raise CommandError(f"no account '{account}'")
        profiles, source = _profiles_for(found)
        if not profiles:
            raise CommandError(f"account '{account}' has no active agents to route to")

        slugs = {profile.slug for profile in profiles}
        unknown = sorted({agent for _, agent in rows if agent is not None} - slugs)
        if unknown:
            self.stderr.write(f"warning: labels not among the account's agents: {', '.join(unknown)}")

        self.stdout.write(f"routing to {len(profiles)} agents from the {source}; {len(rows)} queries")
        if cross_validate:
            score = cross_validate_profiles(profiles, folds=5, repeats=3)
            self.stdout.write(f"cross-validated accuracy on the agents' own examples: {score:.3f}")
        report = evaluate(Router(profiles), rows)
        self.stdout.write(report.format(show_errors=errors))
        if not no_store:
            routing_evaluation_record(account=found, dataset=str(path), report=report)
