"""The error-rate gate refuses more users only when the multi-agent arm fails significantly more
often than legacy (one-sided two-proportion z-test), not on any gap of raw rates."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from conversations.gates import error_rate_gate, regression_p_value
from conversations.models import Conversation, Message
from rollout.gates import GateContext

pytestmark = pytest.mark.django_db


def _arm(account, user, arm: str, failed: int, total: int) -> None:
    conversation = Conversation.objects.create(
        account=account, user=user, arm=arm, routed=arm == Conversation.Arm.MULTI_AGENT
    )
    Message.objects.bulk_create(
        Message(
            conversation=conversation,
            role=Message.Role.ASSISTANT,
            status=Message.Status.FAILED if i < failed else Message.Status.COMPLETE,
        )
        for i in range(total)
    )


def _gate(account, member, multi: tuple[int, int], legacy: tuple[int, int]):
    _arm(account, member, Conversation.Arm.MULTI_AGENT, *multi)
    _arm(account, member, Conversation.Arm.LEGACY, *legacy)
    context = GateContext(
        account=account, since=timezone.now() - timedelta(days=7), window_days=7, config={"alpha": 0.05}
    )
    return error_rate_gate(context)


def test_a_significant_regression_refuses_with_both_rates_counts_and_p(account, member):
    result = _gate(account, member, multi=(12, 100), legacy=(2, 100))
    assert not result.passed
    assert result.figure == "12.0% (12/100) vs 2.0% (2/100)"
    assert "multi-agent 12.0% (12/100 replies failed) vs legacy 2.0% (2/100)" in result.reason
    assert "one-sided p = 0.00" in result.reason and "significantly" in result.reason


def test_a_small_insignificant_gap_passes(account, member):
    # The demo's synthetic week: 2.7% vs 2.1% is within chance (p ~ 0.19).
    result = _gate(account, member, multi=(45, 1655), legacy=(13, 627))
    assert result.passed, result.reason
    assert "one-sided p = 0.1" in result.reason


def test_a_big_sample_with_a_real_gap_refuses(account, member):
    # The same one-point gap as above, on enough replies to be real: 3.0% vs 2.0% on 4,000 each.
    result = _gate(account, member, multi=(120, 4000), legacy=(80, 4000))
    assert not result.passed
    assert "3.0% (120/4000" in result.reason and "2.0% (80/4000)" in result.reason


def test_the_p_value_at_the_boundary():
    # z = 1.645 is the one-sided 5% point: just under it passes, just over it refuses.
    assert regression_p_value(multi_failed=30, multi_total=1000, legacy_failed=30, legacy_total=1000) == 0.5
    assert regression_p_value(multi_failed=10, multi_total=1000, legacy_failed=30, legacy_total=1000) > 0.99
    assert regression_p_value(multi_failed=0, multi_total=50, legacy_failed=0, legacy_total=50) == 1.0
    # 2.0% vs 1.0% on 1,000 each: z = 1.84, p = 0.033; on 700 each: z = 1.54, p = 0.062.
    assert regression_p_value(multi_failed=20, multi_total=1000, legacy_failed=10, legacy_total=1000) < 0.05
    assert regression_p_value(multi_failed=14, multi_total=700, legacy_failed=7, legacy_total=700) > 0.05
