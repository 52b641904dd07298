"""The demo account: what ``seed_demo`` creates (idempotently), across every app."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction

from accounts.models import Account, Membership
from accounts.services import membership_ensure
from agents.catalog.install import catalog_install_demo
from agents.services import agent_ensure_default, knowledge_articles_load
from analytics.demo import analytics_demo_seed
from analytics.evaluation.demo import evaluation_demo_seed
from escalations.demo import escalations_demo_seed
from orchestration.demo import capabilities_seed_demo
from rollout.demo import rollout_demo_seed

DEMO_PASSWORD = "demo-password"  # noqa: S105 - dev-only demo users, refused with DEBUG off
DEMO_USERS = (
    ("admin", Membership.Role.ADMIN, True),
    ("operator", Membership.Role.OPERATOR, False),
    ("member", Membership.Role.MEMBER, False),
)


@dataclass(frozen=True)
class DemoSeed:
    account: Account
    usernames: list[str]
    articles: int


@transaction.atomic
def demo_seed() -> DemoSeed:
    account, _ = Account.objects.update_or_create(
        slug="demo", defaults={"name": "Demo Company", "tier": Account.Tier.ENTERPRISE}
    )
    User = get_user_model()
    for username, role, is_staff in DEMO_USERS:
        user, created = User.objects.get_or_create(
            username=username, defaults={"email": f"{username}@demo.example"}
        )
        if created or not user.has_usable_password():
            user.set_password(DEMO_PASSWORD)
        user.is_staff = user.is_superuser = is_staff
        user.save()
        membership_ensure(user=user, account=account, role=role)
    articles = knowledge_articles_load(account=account)
    agent_ensure_default(account=account)  # the legacy single agent
    catalog_install_demo(account=account)
    capabilities_seed_demo(account=account)
    escalations_demo_seed(account=account)
    rollout_demo_seed(account=account)
    analytics_demo_seed(account=account)
    evaluation_demo_seed(account=account)  # the shipped evaluation dataset
    return DemoSeed(account=account, usernames=[u[0] for u in DEMO_USERS], articles=articles)
