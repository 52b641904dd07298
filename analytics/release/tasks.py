"""Beat's guarded-rollout look, once a minute, and the email of an automatic rollback."""

from smtplib import SMTPException

from celery import shared_task
from django.db import OperationalError

from analytics.release.guardrails import guard_accounts_due, guard_check, guard_rollback_notify


@shared_task
def check_guarded_rollouts() -> int:
    """Beat, every minute: one look per account whose multi-agent flag is in canary or partial."""
    account_ids = guard_accounts_due()
    for account_id in account_ids:
        check_guarded_rollout.delay(account_id)
    return len(account_ids)


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def check_guarded_rollout(account_id: int) -> int | None:
    look = guard_check(account_id=account_id)
    return look.pk if look is not None else None


@shared_task(autoretry_for=(OperationalError, SMTPException, OSError), retry_backoff=True, max_retries=5)
def notify_guarded_rollback(look_id: int) -> bool:
    return guard_rollback_notify(look_id=look_id)
