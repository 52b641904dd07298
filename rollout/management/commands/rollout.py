"""Feature flags from the command line; every change is audited like any other.

    python manage.py rollout show multi_agent [--account demo]
    python manage.py rollout set multi_agent --account demo --phase canary --reason "gates green"
    python manage.py rollout set multi_agent --account demo --percentage 25 --reason "..." [--override-gates]
    python manage.py rollout set multi_agent --account demo --kill --reason "incident 42"
    python manage.py rollout rollback multi_agent --account demo --reason "error spike"
    python manage.py rollout override multi_agent --account demo --user member --on --reason "..."
        (--off pins them out, --clear removes the override)
    python manage.py rollout create multi_agent --reason "..." [--description "..."]
    python manage.py rollout which multi_agent --account demo --user member

Without ``--account`` a change applies to the global flag. ``--actor USERNAME`` names who is
changing it in the history (default: the command itself, shown as "system").
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import Account
from rollout.gates import gates_evaluate
from rollout.models import Flag, FlagChange, Phase
from rollout.selectors import cohort_for_account, flag_for_account, flag_history, user_lookup
from rollout.services import GatesRefused, flag_create, flag_override_set, flag_rollback, flag_update

SOURCE = FlagChange.Source.COMMAND


class Command(BaseCommand):
    help = "Show and change feature flags (phase, percentage, kill switch, overrides, rollback)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)

        def common(name: str, help_text: str) -> CommandParser:
            p = sub.add_parser(name, help=help_text)
            p.add_argument("flag", help="the flag's key, e.g. multi_agent")
            p.add_argument("--account", help="account slug; omitted: the global flag")
            return p

        show = common("show", "the flag as it applies (cohort and gates with --account) and its history")
        show.add_argument("--limit", type=int, default=10)

        for name, help_text in (("set", "change phase, percentage or kill switch"),
                                ("rollback", "phase off, percentage 0, in one step")):  # fmt: skip
            p = common(name, help_text)
            p.add_argument("--reason", required=True, help="why (required, kept in the history)")
            p.add_argument("--actor", help="username recorded as the one who changed it")
            if name == "set":
                p.add_argument("--phase", choices=Phase.values)
                p.add_argument("--percentage", help="0 to 100, at most one decimal")
                switch = p.add_mutually_exclusive_group()
                switch.add_argument("--kill", action="store_true", help="turn the kill switch on")
                switch.add_argument("--enable", action="store_true", help="release the kill switch")
                p.add_argument("--override-gates", action="store_true", help="advance although a gate fails")

        override = common("override", "pin a member on or off, or clear their override")
        override.add_argument("--user", required=True)
        override.add_argument("--reason", required=True)
        override.add_argument("--actor")
        state = override.add_mutually_exclusive_group(required=True)
        state.add_argument("--on", action="store_true")
        state.add_argument("--off", action="store_true")
        state.add_argument("--clear", action="store_true")

        create = sub.add_parser("create", help="create a flag (phase off)")
        create.add_argument("flag")
        create.add_argument("--description", default="")
        create.add_argument("--reason", required=True)
        create.add_argument("--actor")

        which = common("which", "which arm a member gets, and why")
        which.add_argument("--user", required=True)

    # -- helpers ---------------------------------------------------------------------------

    def _flag(self, key: str) -> Flag:
        flag = Flag.objects.filter(key=key).first()
        if flag is None:
            known = ", ".join(Flag.objects.values_list("key", flat=True)) or "none yet"
            raise CommandError(f"No flag '{key}' (known: {known}).")
        return flag

    def _account(self, slug: str | None, *, required: bool = False) -> Account | None:
        if slug is None:
            if required:
                raise CommandError("--account is required here.")
            return None
        account = Account.objects.filter(slug=slug).first()
        if account is None:
            raise CommandError(f"No account '{slug}'.")
        return account

    def _user(self, username: str | None):
        if not username:
            return None
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user '{username}'.")
        return user

    def _run(self, apply) -> None:
        try:
            apply()
        except GatesRefused as refused:
            raise CommandError(
                "Refused: a gate failed.\n  "
                + "\n  ".join(refused.messages)
                + "\nFix the cause, or pass --override-gates with a reason."
            ) from None
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None

    # -- actions -------------------------------------------------------------------------

    def handle(self, *args, **options) -> None:
        getattr(self, f"handle_{options['action']}")(options)

    def handle_show(self, options: dict) -> None:
        flag = self._flag(options["flag"])
        account = self._account(options["account"])
        if account is None:
            self.stdout.write(f"{flag.key} (global): phase {flag.phase}, {flag.percentage}%, "
                              f"{'on' if flag.enabled else 'KILL SWITCH ON'}")  # fmt: skip
        else:
            view = flag_for_account(flag=flag, account=account)
            cohort = cohort_for_account(flag=flag, account=account)
            scope = "own settings" if view.account_override else "global settings"
            self.stdout.write(
                f"{flag.key} in {account.slug} ({scope}): phase {view.phase}, {view.percentage}%, "
                f"{'on' if view.enabled else 'KILL SWITCH ON'}"
            )
            self.stdout.write(
                f"cohort: {cohort.members} members, {cohort.inside} multi-agent, "
                f"{cohort.shadowed} legacy with shadow, {cohort.outside} legacy"
            )
            for gate in gates_evaluate(account=account, config=flag.gates):
                mark = "pass" if gate.passed else "FAIL"
                self.stdout.write(f"gate {mark}: {gate.label}: {gate.figure} ({gate.reason})")
            for change in flag_history(flag=flag, account=account, limit=options["limit"]):
                diff = ", ".join(f"{k}: {b} -> {a}" for k, b, a in change.diff)
                self.stdout.write(
                    f"{change.created_at:%Y-%m-%d %H:%M:%S} {change.actor_name} via {change.source}: "
                    f"{change.action} {diff} ({change.reason})"
                )

    def handle_set(self, options: dict) -> None:
        flag = self._flag(options["flag"])
        account = self._account(options["account"])
        changes: dict = {}
        if options["phase"]:
            changes["phase"] = options["phase"]
        if options["percentage"] is not None:
            changes["percentage"] = options["percentage"]
        if options["kill"]:
            changes["enabled"] = False
        if options["enable"]:
            changes["enabled"] = True
        self._run(
            lambda: flag_update(
                flag=flag,
                account=account,
                actor=self._user(options["actor"]),
                reason=options["reason"],
                source=SOURCE,
                override_gates=options["override_gates"],
                **changes,
            )
        )
        self.handle_show({**options, "limit": 1})

    def handle_rollback(self, options: dict) -> None:
        flag = self._flag(options["flag"])
        account = self._account(options["account"])
        self._run(
            lambda: flag_rollback(
                flag=flag, account=account, actor=self._user(options["actor"]), reason=options["reason"],
                source=SOURCE,
            )
        )  # fmt: skip
        self.handle_show({**options, "limit": 1})

    def handle_override(self, options: dict) -> None:
        flag = self._flag(options["flag"])
        account = self._account(options["account"], required=True)
        enabled = True if options["on"] else False if options["off"] else None
        self._run(
            lambda: flag_override_set(
                flag=flag, account=account, user=self._user(options["user"]), enabled=enabled,
                actor=self._user(options["actor"]), reason=options["reason"], source=SOURCE,
            )
        )  # fmt: skip
        self.handle_which(options)

    def handle_create(self, options: dict) -> None:
        self._run(
            lambda: flag_create(
                key=options["flag"], actor=self._user(options["actor"]), reason=options["reason"],
                source=SOURCE, description=options["description"],
            )
        )  # fmt: skip
        self.stdout.write(f"created {options['flag']} (phase off)")

    def handle_which(self, options: dict) -> None:
        flag = self._flag(options["flag"])
        account = self._account(options["account"], required=True)
        user = self._user(options["user"])
        if not account.memberships.filter(user=user).exists():
            raise CommandError(f"{user.get_username()} is not a member of {account.slug}.")
        lookup = user_lookup(flag=flag, account=account, user=user)
        self.stdout.write(f"{user.get_username()}: {lookup.arm} ({lookup.decision.explanation})")
