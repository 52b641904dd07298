from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from demo.seed import DEMO_PASSWORD, demo_seed


class Command(BaseCommand):
    help = "Create the demo account, its users, knowledge base and default agent (idempotent)."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--force", action="store_true", help="Seed even with DEBUG off (never in production)."
        )

    def handle(self, *args, force: bool, **options) -> None:
        if not settings.DEBUG and not force:
            raise CommandError(
                "seed_demo creates users with a published password, so it refuses to run with "
                "DEBUG off. Pass --force if this really is a throwaway environment."
            )
        seed = demo_seed()
        self.stdout.write(
            f"Demo account '{seed.account.slug}': users {', '.join(seed.usernames)} "
            f"(password '{DEMO_PASSWORD}'), {seed.articles} knowledge articles."
        )
