"""manage.py demo_regression: a seeded regression in the demo's canary that the guard's next look
rolls back by itself, audited with its evidence; refused clearly outside canary/partial."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts.models import Account
from analytics.release.guardrails import guard_check
from analytics.release.models import RolloutGuardLook
from rollout.decision import MULTI_AGENT_FLAG
from rollout.models import Flag, FlagChange, Phase
from rollout.services import flag_update, flag_values

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(settings) -> Account:
    settings.DEBUG = True
    call_command("seed_demo", stdout=io.StringIO())
    return Account.objects.get(slug="demo")


def test_outside_canary_the_command_refuses_clearly(demo):
    assert flag_values(flag=Flag.objects.get(key=MULTI_AGENT_FLAG), account=demo)["phase"] == Phase.SHADOW
    with pytest.raises(CommandError, match=r"not in canary or partial in 'demo'.*shadow to canary"):
        call_command("demo_regression", "--account", "demo")
    assert not RolloutGuardLook.objects.exists()


def test_the_seeded_regression_is_rolled_back_by_the_guards_next_look(demo, eager_tasks):
    flag = Flag.objects.get(key=MULTI_AGENT_FLAG)
    flag_update(flag=flag, account=demo, actor=None, reason="canary", source="command",
                phase=Phase.CANARY, override_gates=True)  # fmt: skip
    with pytest.raises(CommandError, match=r"canary phase began \d+ s ago: wait a minute"):
        call_command("demo_regression", "--account", "demo")
    # The admin ran the command ten minutes after advancing to canary.
    FlagChange.objects.update(created_at=timezone.now() - timedelta(minutes=10))
    out = io.StringIO()
    call_command("demo_regression", "--account", "demo", "--factor", "3", stdout=out)
    assert "1,000 conversations since the canary phase began" in out.getvalue()

    look = guard_check(account_id=demo.pk)  # what beat's check_guarded_rollout task runs

    assert look is not None and look.rolled_back, (look.legacy, look.multi_agent, look.metrics)
    assert flag_values(flag=flag, account=demo)["phase"] == Phase.OFF
    legacy, multi = look.legacy, look.multi_agent
    assert multi["with_error"] / multi["conversations"] > 2 * legacy["with_error"] / legacy["conversations"]
    change = FlagChange.objects.get(pk=look.flag_change_id)
    assert change.source == FlagChange.Source.GUARDRAIL and change.actor is None
    assert change.reason.startswith("automatic rollback: ") and "error rate" in change.reason
    assert look.reason in change.reason
