"""The smaller entry points: the index page, the rest of the command, and the demo seed."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.models import Membership
from rollout.decision import decide
from rollout.demo import rollout_demo_seed
from rollout.models import Flag, FlagChange, FlagOverride

pytestmark = pytest.mark.django_db


def test_the_index_shows_how_to_start_then_opens_the_only_flag(admin_client, account):
    page = admin_client.get("/rollout/")
    assert page.status_code == 200 and "No feature flags yet" in page.content.decode()
    call_command("rollout", "create", "multi_agent", "--reason", "start", "--description", "Multi-agent")
    assert admin_client.get("/rollout/")["Location"] == "/rollout/multi_agent/"
    assert admin_client.get("/rollout/nope/").status_code == 404
    assert (FlagChange.objects.get().action, FlagChange.objects.get().source) == ("create", "command")


def test_the_command_pins_a_member_and_says_which_arm_they_get(flag, account, member, admin_user, capsys):
    call_command("rollout", "override", "multi_agent", "--account", "acme", "--user", "alice", "--on",
                 "--reason", "pilot", "--actor", "ada")  # fmt: skip
    assert "alice: multi_agent (A user override turns the flag on" in capsys.readouterr().out
    change = FlagChange.objects.order_by("-id").first()
    assert (change.actor, change.source, change.action) == (admin_user, "command", "override")
    call_command("rollout", "override", "multi_agent", "--account", "acme", "--user", "alice", "--clear",
                 "--reason", "pilot over")  # fmt: skip
    assert not FlagOverride.objects.exists()
    call_command("rollout", "which", "multi_agent", "--account", "acme", "--user", "alice")
    assert "alice: legacy (The flag is in phase off" in capsys.readouterr().out
    with pytest.raises(CommandError, match="No account 'nowhere'"):
        call_command("rollout", "which", "multi_agent", "--account", "nowhere", "--user", "alice")
    with pytest.raises(CommandError, match="Refused: a gate failed"):
        call_command(
            "rollout", "set", "multi_agent", "--account", "acme", "--phase", "canary", "--reason", "go"
        )


def test_the_demo_seed_starts_in_shadow_with_the_admin_pinned_on_and_is_idempotent(account, make_user):
    admin = make_user(account, role=Membership.Role.ADMIN, username="admin")
    member = make_user(account, username="member")
    rollout_demo_seed(account=account)
    rollout_demo_seed(account=account)
    flag = Flag.objects.get()
    assert flag.account_settings.get().phase == "shadow"
    assert decide(flag.key, user_id=member.pk, account_id=account.pk).reason == "shadow_in"
    assert decide(flag.key, user_id=admin.pk, account_id=account.pk).reason == "override_on"
    assert FlagChange.objects.filter(source="seed").count() == 3
