"""python manage.py demo_regression [--account demo] [--factor 3]: a seeded regression that the
guarded rollout rolls back by itself on its next look (beat, once a minute)."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts.models import Account
from demo.regression import NotGuarded, demo_regression_seed


class Command(BaseCommand):
    help = (
        "Write synthetic conversations since the multi-agent flag's canary began, the multi-agent arm "
        "failing --factor times as often, for the guard to roll back."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--account", default="demo", help="slug of the account (default: demo)")
        parser.add_argument("--factor", type=float, default=3.0, help="multi-agent error rates times this")
        parser.add_argument("--conversations", type=int, default=1000)
        parser.add_argument("--seed", type=int, default=16)
        parser.add_argument(
            "--force", action="store_true", help="Run even with DEBUG off (never in production)."
        )

    def handle(self, *args, **options) -> None:
        if not settings.DEBUG and not options["force"]:
            raise CommandError(
                "demo_regression writes synthetic failures into an account, so it refuses to run with "
                "DEBUG off. Pass --force if this really is a throwaway environment."
            )
        if options["factor"] <= 1 or options["conversations"] < 100:
            raise CommandError("--factor must be above 1 and --conversations at least 100")
        account = Account.objects.filter(slug=options["account"]).first()
        if account is None:
            raise CommandError(f"no account '{options['account']}'")
        try:
            seeded = demo_regression_seed(
                account=account,
                factor=options["factor"],
                conversations=options["conversations"],
                seed=options["seed"],
            )
        except NotGuarded as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"account {account.slug}: {seeded.counts.conversations:,} conversations since the {seeded.phase} "
            f"phase began ({seeded.started:%Y-%m-%d %H:%M:%S} UTC), "
            f"multi-agent errors x{options['factor']:g}. "
            "The guard rolls the flag back on its next look (beat, every minute): watch the Rollout page."
        )
