"""Email to the account's operators when a request reaches them."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.db.models import F
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.text import Truncator

from escalations.models import Escalation
from escalations.selectors import operators_for_account

logger = logging.getLogger(__name__)

EmailStatus = Escalation.EmailStatus


def escalation_email_send(*, escalation_id: int) -> str:
    """Send the alert once. A failure is recorded on the escalation (which stays in the
    queue either way) and raised, so the task retries it. Returns the email status."""
    escalation = Escalation.objects.select_related("account", "conversation").filter(pk=escalation_id).first()
    if escalation is None or escalation.email_status in (EmailStatus.SENT, EmailStatus.NOT_NEEDED):
        return escalation.email_status if escalation else ""
    recipients = [u.email for u in operators_for_account(account_id=escalation.account_id) if u.email]
    if not recipients:
        Escalation.objects.filter(pk=escalation.pk).update(email_status=EmailStatus.NO_RECIPIENTS)
        logger.warning(
            "escalation %s: no operator of %s has an email address", escalation.pk, escalation.account
        )
        return EmailStatus.NO_RECIPIENTS
    url = settings.SITE_URL.rstrip("/") + reverse("escalations:detail", args=[escalation.pk])
    context = {"escalation": escalation, "url": url}
    question = Truncator(" ".join(escalation.question.split())).words(10)
    subject = f"[{escalation.account.name}] Escalation #{escalation.pk} needs a person: {question}"
    Escalation.objects.filter(pk=escalation.pk).update(email_attempts=F("email_attempts") + 1)
    try:
        send_mail(
            subject=" ".join(subject.split()),
            message=render_to_string("escalations/email.txt", context),
            from_email=None,
            recipient_list=recipients,
        )
    except Exception as exc:
        logger.warning("escalation %s: email to operators failed: %s", escalation.pk, exc)
        Escalation.objects.filter(pk=escalation.pk).update(
            email_status=EmailStatus.FAILED, email_error=str(exc)[:500]
        )
        raise
    Escalation.objects.filter(pk=escalation.pk).update(
        email_status=EmailStatus.SENT, email_error="", emailed_at=timezone.now()
    )
    return EmailStatus.SENT
