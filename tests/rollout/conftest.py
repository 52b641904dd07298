from __future__ import annotations

import itertools

import pytest
from django.contrib.auth import get_user_model

from accounts.models import Membership
from rollout import decision
from rollout.models import Flag, FlagChange
from rollout.services import flag_create


@pytest.fixture(autouse=True)
def fresh_flag_cache():
    """Each test starts with an empty in-process snapshot and ends by publishing a change, so a
    flag of one test (rolled back with its transaction, which publishes nothing) never leaks
    into another test, in this process or in the stack's."""
    decision.local_invalidate()
    yield
    # Torn down after the test database is flushed or rolled back: processes of the shared
    # test stack reload too, so no flag of this test serves another test's conversations.
    decision.flags_changed()


@pytest.fixture
def flag(db) -> Flag:
    return flag_create(
        key=decision.MULTI_AGENT_FLAG,
        actor=None,
        reason="tests",
        source=FlagChange.Source.COMMAND,
        description="Multi-agent system instead of the legacy single agent.",
    )


@pytest.fixture
def admin_user(make_user, account):
    return make_user(account, role=Membership.Role.ADMIN, username="ada")


@pytest.fixture
def admin_client(admin_user, client):
    client.force_login(admin_user)
    return client


_names = itertools.count(1)


@pytest.fixture
def make_members(db):
    """Many members at once, without password hashing (which would take seconds)."""

    def make(account, count: int) -> list:
        User = get_user_model()
        users = [User.objects.create(username=f"m{next(_names)}-{account.slug}") for _ in range(count)]
        Membership.objects.bulk_create([Membership(user=u, account=account) for u in users])
        return users

    return make
