from smtplib import SMTPException

from celery import shared_task
from django.core.cache import cache
from django.db import OperationalError

from analytics.rollups import rollup_accounts, rollups_refresh
from analytics.services import accounts_with_rules, alert_notify, alerts_evaluate_account

REFRESH_LOCK_SECONDS = 15 * 60


@shared_task
def evaluate_alerts() -> int:
    """Beat, every minute: one task per account that has enabled rules."""
    account_ids = accounts_with_rules()
    for account_id in account_ids:
        evaluate_account_alerts.delay(account_id)
    return len(account_ids)


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def evaluate_account_alerts(account_id: int) -> list[int]:
    return [alert.pk for alert in alerts_evaluate_account(account_id=account_id)]


@shared_task(autoretry_for=(OperationalError, SMTPException, OSError), retry_backoff=True, max_retries=5)
def notify_alert(alert_id: int) -> bool:
    return alert_notify(alert_id=alert_id)


@shared_task
def refresh_rollups() -> int:
    """Beat, every minute: bring each account's aggregates up to date."""
    account_ids = rollup_accounts()
    for account_id in account_ids:
        refresh_account_rollups.delay(account_id)
    return len(account_ids)


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def refresh_account_rollups(account_id: int) -> bool:
    # One refresh per account at a time: a long first build must not race the next minute's.
    key = f"analytics:refresh:{account_id}"
    if not cache.add(key, "running", timeout=REFRESH_LOCK_SECONDS):
        return False
    try:
        rollups_refresh(account_id=account_id)
    finally:
        cache.delete(key)
    return True


# The improvement suggestions' tasks live with them; importing them here registers them with the worker.
from analytics.suggestions.tasks import refresh_account_suggestions, refresh_suggestions  # noqa: E402, F401
