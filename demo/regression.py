"""A seeded regression for the demo: synthetic conversations of both arms since the multi-agent
flag's canary (or partial) phase began, the multi-agent arm failing ``factor`` times as often, so
that beat's guard (analytics.release.guardrails) rolls the flag back by itself on its next look."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from accounts.models import Account
from analytics.release.guardrails import guarded_flag, phase_started_at
from analytics.traffic import GeneratedCounts, TrafficProfile, traffic_generate

MIN_ELAPSED_SECONDS = 60


class NotGuarded(ValueError):
    """The multi-agent flag is not in canary or partial in the account (the guard is not looking),
    or its phase began too recently to date conversations in it."""


@dataclass(frozen=True)
class SeededRegression:
    phase: str
    started: datetime
    counts: GeneratedCounts


def demo_regression_seed(
    *, account: Account, factor: float = 3.0, conversations: int = 1000, seed: int = 16
) -> SeededRegression:
    guarded = guarded_flag(account=account)
    if guarded is None:
        raise NotGuarded(
            f"The multi-agent flag is not in canary or partial in '{account.slug}', so the guard is not "
            "watching it: advance it from shadow to canary on the Rollout page first."
        )
    flag, values = guarded
    started = phase_started_at(flag=flag, account=account)
    now = timezone.now()
    elapsed = (now - started).total_seconds()
    if elapsed < MIN_ELAPSED_SECONDS:
        raise NotGuarded(
            f"The {values['phase']} phase began {elapsed:.0f} s ago: wait a minute, so that the synthetic "
            "conversations (dated between its start and now) fit after it."
        )
    days = elapsed / 86400
    # One turn per conversation: a conversation lasts seconds, so nearly all of them start after the
    # phase began (the guard counts those) even when the canary started a minute ago.
    profile = TrafficProfile(
        conversations=conversations,
        days=days,
        legacy_share=0.5,
        turns_mean=1.0,
        handoff_share=0.0,
        seed=seed,
        multi_error_factor=factor,
    )
    counts = traffic_generate(account=account, profile=profile, now=now)
    return SeededRegression(phase=values["phase"], started=started, counts=counts)
