from celery import shared_task
from django.core.cache import cache
from django.db import OperationalError

from accounts.models import Account
from analytics.suggestions.services import suggestions_refresh

REFRESH_LOCK_SECONDS = 30 * 60


@shared_task
def refresh_suggestions() -> int:
    """Beat, hourly: one refresh per account."""
    account_ids = list(Account.objects.order_by("pk").values_list("pk", flat=True))
    for account_id in account_ids:
        refresh_account_suggestions.delay(account_id)
    return len(account_ids)


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def refresh_account_suggestions(account_id: int) -> bool:
    # One refresh per account at a time: "refresh now" during the hourly run waits for nothing.
    key = f"analytics:suggestions:{account_id}"
    if not cache.add(key, "running", timeout=REFRESH_LOCK_SECONDS):
        return False
    try:
        suggestions_refresh(account_id=account_id)
    finally:
        cache.delete(key)
    return True
