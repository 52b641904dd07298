"""The decision: Unleash-compatible buckets, stickiness, overrides, the kill switch, no queries."""

from __future__ import annotations

from decimal import Decimal

import mmh3
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from rollout.decision import MULTI_AGENT_FLAG, bucket, decide, is_enabled
from rollout.models import Phase
from rollout.services import flag_override_set, flag_update

pytestmark = pytest.mark.django_db

USER_IDS = range(1, 100_001)


def test_bucket_is_unleash_normalised_murmur3():
    # Unleash's normalizedHash: murmur3_32("<group>:<id>", seed 0) % 100 + 1.
    assert bucket("multi_agent", 42) == mmh3.hash("multi_agent:42", 0, signed=False) % 100 + 1
    assert {bucket("g", i) for i in range(1, 5000)} == set(range(1, 101))


def _share_in(percentage: float, group: str = MULTI_AGENT_FLAG) -> float:
    return sum(bucket(group, i) <= percentage for i in USER_IDS) / len(USER_IDS)


@pytest.mark.parametrize("percentage", [10, 50])
def test_100k_users_split_within_half_a_point(percentage):
    assert abs(_share_in(percentage) - percentage / 100) <= 0.005


def test_raising_the_percentage_only_adds_users(flag, account, make_members):
    buckets = [(i, bucket(flag.hash_group, i)) for i in USER_IDS]
    inside_at = {p: {i for i, b in buckets if b <= p} for p in (5, 10, 25, 50, 75, 100)}
    assert inside_at[5] <= inside_at[10] <= inside_at[25] <= inside_at[50] <= inside_at[75] <= inside_at[100]
    assert len(inside_at[100]) == len(USER_IDS)
    # And through the real decision, with the flag changed the way operators change it.
    users = make_members(account, 40)
    flag_update(flag=flag, account=account, actor=None, reason="canary", source="command",
                phase=Phase.CANARY, percentage=10, override_gates=True)  # fmt: skip
    at_10 = {u.pk for u in users if is_enabled(MULTI_AGENT_FLAG, u, account)}
    flag_update(flag=flag, account=account, actor=None, reason="more", source="command",
                percentage=25, override_gates=True)  # fmt: skip
    at_25 = {u.pk for u in users if is_enabled(MULTI_AGENT_FLAG, u, account)}
    assert at_10 <= at_25
    assert at_25 == {u.pk for u in users if bucket(flag.hash_group, u.pk) <= 25}


def test_a_user_override_wins_over_the_kill_switch_and_the_bucket(flag, account, member, admin_user):
    flag_update(flag=flag, account=account, actor=None, reason="all in", source="command",
                phase=Phase.FULL, override_gates=True)  # fmt: skip
    assert is_enabled(MULTI_AGENT_FLAG, member, account)
    flag_override_set(flag=flag, account=account, user=member, enabled=False, actor=admin_user,
                      reason="keeps legacy", source="command")  # fmt: skip
    assert not is_enabled(MULTI_AGENT_FLAG, member, account)
    assert decide(MULTI_AGENT_FLAG, user_id=member.pk, account_id=account.pk).reason == "override_off"

    flag_update(flag=flag, account=account, actor=None, reason="incident", source="command", enabled=False)
    flag_override_set(flag=flag, account=account, user=admin_user, enabled=True, actor=admin_user,
                      reason="admin tests it", source="command")  # fmt: skip
    assert is_enabled(MULTI_AGENT_FLAG, admin_user, account)  # override before kill switch
    assert not is_enabled(MULTI_AGENT_FLAG, member, account)

    flag_override_set(flag=flag, account=account, user=member, enabled=None, actor=admin_user,
                      reason="back to the bucket", source="command")  # fmt: skip
    assert decide(MULTI_AGENT_FLAG, user_id=member.pk, account_id=account.pk).reason == "killed"


def test_the_kill_switch_turns_everyone_off_and_back(flag, account, make_members):
    users = make_members(account, 20)
    flag_update(flag=flag, account=account, actor=None, reason="all", source="command",
                phase=Phase.FULL, override_gates=True)  # fmt: skip
    assert all(is_enabled(MULTI_AGENT_FLAG, u, account) for u in users)
    flag_update(flag=flag, account=account, actor=None, reason="incident", source="command", enabled=False)
    assert not any(is_enabled(MULTI_AGENT_FLAG, u, account) for u in users)
    flag_update(flag=flag, account=account, actor=None, reason="fixed", source="command",
                enabled=True, override_gates=True)  # fmt: skip
    assert all(is_enabled(MULTI_AGENT_FLAG, u, account) for u in users)


def test_an_account_setting_applies_only_to_that_account(flag, account, other_account, member, outsider):
    flag_update(flag=flag, account=account, actor=None, reason="acme first", source="command",
                phase=Phase.FULL, override_gates=True)  # fmt: skip
    assert is_enabled(MULTI_AGENT_FLAG, member, account)
    assert not is_enabled(MULTI_AGENT_FLAG, outsider, other_account)  # global: off
    assert decide(MULTI_AGENT_FLAG, user_id=outsider.pk, account_id=other_account.pk).reason == "off"


def test_shadow_serves_nobody_and_shadows_the_cohort(flag, account, member):
    flag_update(
        flag=flag, account=account, actor=None, reason="compare", source="command", phase=Phase.SHADOW
    )
    decision = decide(MULTI_AGENT_FLAG, user_id=member.pk, account_id=account.pk)
    assert (decision.enabled, decision.shadow, decision.reason) == (False, True, "shadow_in")
    assert flag.account_settings.get().percentage == Decimal("100")
    assert not is_enabled(MULTI_AGENT_FLAG, member, account)


def test_an_unknown_flag_is_off(account, member):
    assert not is_enabled("no-such-flag", member, account)
    assert decide("no-such-flag", user_id=member.pk, account_id=account.pk).reason == "unknown_flag"


def test_a_warm_decision_runs_no_query(flag, account, member, make_members):
    users = make_members(account, 10)
    flag_override_set(flag=flag, account=account, user=member, enabled=True, actor=None,
                      reason="pin", source="command")  # fmt: skip
    is_enabled(MULTI_AGENT_FLAG, member, account)  # warm
    with CaptureQueriesContext(connection) as queries:
        for _ in range(100):
            for user in [member, *users]:
                is_enabled(MULTI_AGENT_FLAG, user, account)
    assert len(queries) == 0
