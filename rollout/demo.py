"""The demo account's rollout: the multi-agent system in shadow for everyone, so the legacy
agent answers and the multi-agent answers are compared side by side; the demo admin has an
override and is served by the multi-agent system."""

from __future__ import annotations

from django.contrib.auth import get_user_model

from accounts.models import Account
from rollout.decision import MULTI_AGENT_FLAG
from rollout.models import Flag, FlagChange, Phase
from rollout.services import flag_create, flag_override_set, flag_update

REASON = "Demo seed: start the multi-agent rollout in shadow."


def rollout_demo_seed(*, account: Account) -> Flag:
    """Idempotent: the flag and the account's settings are created once, never reset."""
    flag = Flag.objects.filter(key=MULTI_AGENT_FLAG).first()
    if flag is None:
        flag = flag_create(
            key=MULTI_AGENT_FLAG,
            actor=None,
            reason=REASON,
            source=FlagChange.Source.SEED,
            description="Serve users with the multi-agent system (router, specialised agents, hand-offs) "
            "instead of the legacy single general agent.",
        )
    if not flag.account_settings.filter(account=account).exists():
        flag_update(flag=flag, account=account, actor=None, reason=REASON, source=FlagChange.Source.SEED,
                    phase=Phase.SHADOW)  # fmt: skip
        admin = get_user_model().objects.filter(username="admin", memberships__account=account).first()
        if admin is not None:
            flag_override_set(flag=flag, account=account, user=admin, enabled=True, actor=None,
                              reason="Demo seed: the admin tries the multi-agent system.",
                              source=FlagChange.Source.SEED)  # fmt: skip
    return flag
