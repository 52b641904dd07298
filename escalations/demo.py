"""The demo account's escalation policy and one approved learned pattern (idempotent)."""

from __future__ import annotations

from django.db import transaction

from accounts.models import Account
from escalations.models import EscalationPolicy, LearnedPattern

DEMO_PATTERNS = [
    {
        "problem": "The mobile app keeps logging me out every few minutes since the last update.",
        "fix": (
            "This is the session loop of mobile app 4.2.0. Update the app to 4.2.1 or later, then sign "
            "out everywhere once from **Profile > Sessions > Sign out of all devices** and sign in again. "
            "Sessions then last the usual 12 hours."
        ),
    },
]


@transaction.atomic
def escalations_demo_seed(*, account: Account) -> None:
    EscalationPolicy.objects.update_or_create(
        account=account,
        defaults={
            "quick_fix_enabled": True,
            "quick_fix_threshold": 0.75,
            "research_enabled": True,
            "research_threshold": 0.7,
            "consultation_enabled": True,
            "consultation_required_votes": 2,
            "first_response_sla_minutes": 30,
            "resolution_sla_minutes": 480,
            "email_operators": True,
        },
    )
    for spec in DEMO_PATTERNS:
        LearnedPattern.objects.update_or_create(
            account=account,
            problem=spec["problem"],
            defaults={"fix": spec["fix"], "status": LearnedPattern.Status.APPROVED},
        )
