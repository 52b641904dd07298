"""Reads for the agents API."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet

from accounts.models import Account, Membership
from accounts.selectors import memberships_for_user
from agents.models import AgentInstance, AgentTemplate


def agent_templates_list() -> QuerySet[AgentTemplate]:
    return AgentTemplate.objects.order_by("slug", "version")


def membership_for_account_slug(
    *, user: AbstractBaseUser | AnonymousUser, account_slug: str
) -> Membership | None:
    """The user's membership of the account with ``account_slug``; None if they are not a member
    (or it does not exist: the API answers both the same way)."""
    return memberships_for_user(user=user).filter(account__slug=account_slug).first()


def agent_instances_for_account(*, account: Account) -> QuerySet[AgentInstance]:
    return (
        AgentInstance.objects.filter(account=account)
        .select_related("template")
        .prefetch_related("tools", "handoff_targets")
        .order_by("slug")
    )


def agent_instance_for_account(*, account: Account, slug: str) -> AgentInstance | None:
    return agent_instances_for_account(account=account).filter(slug=slug).first()
