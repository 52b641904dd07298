"""Reads for the suggestions page: an account's suggestions by status, one suggestion (another
account's is as unknown as a missing one), and when they were last refreshed."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import Account
from analytics.suggestions.models import Suggestion, SuggestionRefresh


def suggestions_for_account(*, account: Account, status: str) -> QuerySet[Suggestion]:
    return (
        Suggestion.objects.filter(account=account, status=status)
        .select_related("agent", "from_agent", "pattern", "decided_by")
        .order_by("-evidence_count", "id")
    )


def suggestion_get(*, account: Account, pk: int) -> Suggestion | None:
    return Suggestion.objects.filter(account=account, pk=pk).select_related("agent").first()


def suggestions_last_refresh(*, account: Account) -> SuggestionRefresh | None:
    return SuggestionRefresh.objects.filter(account=account).first()
