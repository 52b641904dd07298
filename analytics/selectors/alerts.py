from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import Account
from analytics.models import Alert, AlertRule


def alerts_firing(*, account: Account) -> QuerySet[Alert]:
    return Alert.objects.filter(account=account, status=Alert.Status.FIRING).select_related("rule")


def alerts_firing_unacknowledged(*, account: Account) -> QuerySet[Alert]:
    """Firing alerts nobody has acknowledged yet: what the badges count and the banner lists.

    An acknowledged alert still fires (the Alerts tab shows it), but someone is on it, so it no
    longer asks for attention on every page."""
    return alerts_firing(account=account).filter(acknowledged_at__isnull=True)


def alerts_firing_count(*, account: Account) -> int:
    return alerts_firing_unacknowledged(account=account).count()


def alerts_recent(*, account: Account, limit: int = 50) -> QuerySet[Alert]:
    return (
        Alert.objects.filter(account=account)
        .select_related("rule", "acknowledged_by")
        .order_by("-fired_at", "-id")[:limit]
    )


def alert_get(*, account: Account, pk: int) -> Alert | None:
    return Alert.objects.filter(account=account, pk=pk).select_related("rule").first()


def alert_rules_for_account(*, account: Account) -> QuerySet[AlertRule]:
    return AlertRule.objects.filter(account=account).select_related("silenced_by").order_by("kind", "id")


def alert_rule_get(*, account: Account, pk: int) -> AlertRule | None:
    return AlertRule.objects.filter(account=account, pk=pk).first()


def critical_alerts_open(*, account: Account) -> list[Alert]:
    """Open critical alerts: the rollout gate 'no open critical alerts' reads this."""
    return list(alerts_firing(account=account).filter(severity=AlertRule.Severity.CRITICAL))
