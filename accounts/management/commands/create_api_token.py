from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from accounts.auth import api_token_create


class Command(BaseCommand):
    help = "Create an API token for a user. The token is printed once, alone on the last line."

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="Command line", help="What the token is for.")

    def handle(self, *args, username: str, name: str, **options) -> None:
        User = get_user_model()
        user = User.objects.filter(**{User.USERNAME_FIELD: username}).first()
        if user is None:
            raise CommandError(f"No user named '{username}'.")
        token, raw = api_token_create(user=user, name=name)
        self.stdout.write(
            f"Created API token '{token.name}' for {user} (prefix {token.prefix}). "
            "It is not stored; copy it now:"
        )
        self.stdout.write(raw)
