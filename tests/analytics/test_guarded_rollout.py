"""Guarded rollouts: a flag in canary is watched by the guard, which rolls it back by itself on a
significant regression of the multi-agent arm (audited like any change, emailed to the admins,
shown on the Rollout page with its evidence), and leaves it alone when both arms are alike (A/A).
The streams are small, seeded and written as real conversations; the decision code is the one the
bench (bench/guarded_rollout.py) runs."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from accounts.models import Membership
from analytics.release.guardrails import arm_counts, guard_check, guarded_accounts
from analytics.release.models import RolloutGuardLook
from analytics.release.sequential import ArmCounts, GuardState, guard_step
from conversations.models import Conversation, Message
from escalations.models import Escalation
from rollout.decision import MULTI_AGENT_FLAG
from rollout.models import FlagChange, Phase
from rollout.services import flag_create, flag_update, flag_values

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(make_user, account):
    user = make_user(account, role=Membership.Role.ADMIN, username="ada")
    user.email = "ada@example.com"
    user.save(update_fields=["email"])
    return user


@pytest.fixture
def canary(account, admin):
    flag = flag_create(key=MULTI_AGENT_FLAG, actor=None, reason="tests", source="command", phase=Phase.SHADOW)
    flag_update(flag=flag, account=account, actor=admin, reason="canary", source="command",
                phase=Phase.CANARY, override_gates=True)  # fmt: skip
    return flag


class Stream:
    """Conversations of both arms, one failed or complete reply each, at seeded rates."""

    def __init__(self, account, user, *, seed: int) -> None:
        self.account, self.user, self.rng = account, user, random.Random(seed)

    def minute(self, *, per_arm: int, legacy_error: float, multi_error: float) -> None:
        for arm, error_rate in (("legacy", legacy_error), ("multi_agent", multi_error)):
            for _ in range(per_arm):
                conversation = Conversation.objects.create(account=self.account, user=self.user, arm=arm)
                failed = self.rng.random() < error_rate
                question = Message.objects.create(conversation=conversation, role="user", content="q")
                Message.objects.create(
                    conversation=conversation, role="assistant", reply_to=question,
                    status="failed" if failed else "complete",
                    latency_ms=None if failed else int(self.rng.lognormvariate(7.2, 0.4)),
                    feedback="down" if self.rng.random() < 0.03 else "up" if self.rng.random() < 0.3 else "",
                )  # fmt: skip


def _run(stream: Stream, account, *, minutes: int, multi_error: float) -> list[RolloutGuardLook]:
    looks, now = [], timezone.now()
    for minute in range(1, minutes + 1):
        stream.minute(per_arm=12, legacy_error=0.03, multi_error=multi_error)
        look = guard_check(account_id=account.pk, now=now + timedelta(minutes=minute))
        if look is None:
            break
        looks.append(look)
        if look.rolled_back:
            break
    return looks


def test_a_seeded_regression_is_rolled_back_by_itself_audited_and_emailed(
    account, admin, canary, eager_tasks, django_capture_on_commit_callbacks
):
    assert guarded_accounts() == [account.pk]
    with django_capture_on_commit_callbacks(execute=True):
        looks = _run(Stream(account, admin, seed=7), account, minutes=15, multi_error=0.35)
    last = looks[-1]
    assert last.rolled_back, [
        m["p_value"] for look in looks for m in look.metrics if m["key"] == "error_rate"
    ]
    assert len(looks) <= 10  # ~12 conversations an arm a minute: caught within ten looks
    assert flag_values(flag=canary, account=account)["phase"] == Phase.OFF
    change = FlagChange.objects.get(pk=last.flag_change_id)
    assert (change.action, change.source, change.actor_name) == ("rollback", "guardrail", "system")
    assert change.reason.startswith("automatic rollback: error rate ")
    assert " vs " in change.reason and ", p < 0.0" in change.reason
    assert last.reason in change.reason
    (email,) = mail.outbox
    assert email.to == ["ada@example.com"] and "rolled back automatically" in email.subject
    assert last.reason in email.body
    last.refresh_from_db()
    assert last.emailed_to == ["ada@example.com"]
    # The guard stops watching: the flag is off.
    assert guarded_accounts() == [] and guard_check(account_id=account.pk) is None


def test_an_aa_stream_is_not_rolled_back(account, admin, canary):
    looks = _run(Stream(account, admin, seed=11), account, minutes=12, multi_error=0.03)
    assert len(looks) == 12 and not any(look.rolled_back for look in looks)
    assert flag_values(flag=canary, account=account)["phase"] == Phase.CANARY
    assert not FlagChange.objects.filter(source="guardrail").exists()
    # Each look carries its always-valid p-values forward: they never go up within the phase.
    p_values = [next(m["p_value"] for m in look.metrics if m["key"] == "error_rate") for look in looks]
    assert p_values == sorted(p_values, reverse=True)


def test_a_new_phase_starts_a_new_test(account, admin, canary):
    before = _run(Stream(account, admin, seed=3), account, minutes=2, multi_error=0.03)
    flag_update(flag=canary, account=account, actor=admin, reason="more", source="command",
                percentage=20, override_gates=True)  # fmt: skip
    look = guard_check(account_id=account.pk)
    assert look.phase_started_at > before[-1].phase_started_at
    assert look.multi_agent["conversations"] == 0  # only conversations since the change count


def test_arm_counts_read_errors_feedback_escalations_and_latency(account, admin, canary):
    Stream(account, admin, seed=5).minute(per_arm=20, legacy_error=0.0, multi_error=0.5)
    escalated = Conversation.objects.filter(arm="multi_agent").first()
    for trigger in Escalation.Trigger.values[:2]:  # two escalations of one conversation count once
        Escalation.objects.create(
            account=account, conversation=escalated, message=escalated.messages.get(role="assistant"),
            trigger=trigger, reason="r", question="q",
        )  # fmt: skip
    hidden = Conversation.objects.create(account=account, user=admin, arm="multi_agent", purpose="shadow")
    Message.objects.create(conversation=hidden, role="assistant", status="failed")
    legacy, multi = arm_counts(account=account, since=timezone.now() - timedelta(hours=1))
    assert (legacy.conversations, multi.conversations) == (20, 20)  # the hidden run is left out
    assert (legacy.with_error, legacy.escalated, multi.escalated) == (0, 0, 1)
    assert (
        multi.with_error
        == Message.objects.filter(
            conversation__purpose="chat", conversation__arm="multi_agent", status="failed"
        ).count()
    )
    assert legacy.timed_replies == 20 and legacy.p95_ms is not None
    assert legacy.rated == Message.objects.filter(conversation__arm="legacy").exclude(feedback="").count()


def test_the_decision_code_catches_a_regression_and_spares_aa_in_counts():
    # The bench's path: counts straight into guard_step.
    state = GuardState()
    legacy = multi = ArmCounts()
    for minute in range(1, 61):
        legacy = ArmCounts(conversations=100 * minute, with_error=3 * minute)
        multi = ArmCounts(conversations=100 * minute, with_error=9 * minute)
        state, decision = guard_step(state=state, legacy=legacy, multi=multi)
        if decision.rollback:
            break
    assert decision.rollback and decision.reason.startswith("error rate 9.0% vs 3.0%, p < ")
    state, decision = guard_step(state=GuardState(), legacy=legacy, multi=legacy)
    assert not decision.rollback and all(look.p_value == 1.0 for look in decision.looks)


def test_the_rollout_page_shows_the_rollback_and_its_evidence(
    client, account, admin, canary, eager_tasks, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        looks = _run(Stream(account, admin, seed=7), account, minutes=15, multi_error=0.35)
    client.force_login(admin)
    page = client.get("/rollout/multi_agent/").content.decode()
    assert 'id="guard-rollback"' in page and "Rolled back automatically" in page
    assert looks[-1].reason in page.replace("&lt;", "<")
    assert 'data-chart="chart_guard-data"' in page and 'id="chart_guard-data"' in page
    assert 'data-metric="error_rate" data-regression="true"' in page
    assert 'data-source="guardrail"' in page  # the history lists the automatic change
