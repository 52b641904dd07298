"""Writes of the analytics app: alert rules, and evaluating them into alerts.

An alert opens when its rule's condition first holds (one firing alert per rule, enforced by a
partial unique constraint), is emailed to the account's admins once, after the commit, and is
resolved at the first check where the condition no longer holds. A later breach is a new alert.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import Account, Membership
from analytics.models import Alert, AlertRule
from analytics.selectors.agents import error_rate
from analytics.selectors.common import CIRCULAR_KINDS, guardrail_events_in, in_window
from analytics.selectors.escalations import sla_breaches_open
from analytics.selectors.handoffs import handoff_rate
from analytics.windows import Window, window_last
from conversations.models import Approval, GuardrailEvent, ToolCall

logger = logging.getLogger(__name__)

DEFAULT_RULES: tuple[dict, ...] = (
    {"kind": AlertRule.Kind.HANDOFF_RATE, "threshold": 0.30, "severity": AlertRule.Severity.WARNING},
    {"kind": AlertRule.Kind.CIRCULAR_HANDOFFS, "threshold": 0, "severity": AlertRule.Severity.WARNING},
    {"kind": AlertRule.Kind.STEP_LIMITS, "threshold": 5, "severity": AlertRule.Severity.WARNING},
    {"kind": AlertRule.Kind.GATE_DENIALS, "threshold": 10, "severity": AlertRule.Severity.WARNING},
    {"kind": AlertRule.Kind.ERROR_RATE_SPIKE, "threshold": 2.0, "severity": AlertRule.Severity.CRITICAL},
    {"kind": AlertRule.Kind.SLA_BREACHES, "threshold": 0, "severity": AlertRule.Severity.CRITICAL},
)
# An error rate "doubles" from at least this much, so one failure after a clean hour is no spike.
ERROR_RATE_FLOOR = 0.01


def alert_rules_install_defaults(*, account: Account) -> int:
    """Add the default rules the account does not have yet (by kind); returns how many were added."""
    existing = set(AlertRule.objects.filter(account=account).values_list("kind", flat=True))
    added = [AlertRule(account=account, **rule) for rule in DEFAULT_RULES if rule["kind"] not in existing]
    AlertRule.objects.bulk_create(added)
    return len(added)


@dataclass(frozen=True)
class Reading:
    """A rule's figure at one check: whether it breaches, and the words for the alert."""

    value: float
    breached: bool
    message: str


def _gate_problems(account: Account, window: Window) -> int:
    denied = in_window(
        Approval.objects.filter(conversation__account=account, decision=Approval.Decision.DENIED),
        window,
        "decided_at",
    ).count()
    refused = (
        guardrail_events_in(account=account, window=window)
        .filter(kind__in=[GuardrailEvent.Kind.TOOL_REFUSED, GuardrailEvent.Kind.HANDOFF_REFUSED])
        .count()
    )
    failed = in_window(
        ToolCall.objects.filter(conversation__account=account, status=ToolCall.Status.FAILED), window
    ).count()
    return denied + refused + failed


def rule_read(*, rule: AlertRule, now: datetime | None = None) -> Reading:
    """The rule's figure now."""
    window = window_last(timedelta(minutes=rule.window_minutes), now=now)
    account = rule.account
    kind, threshold = rule.kind, rule.threshold
    if kind == AlertRule.Kind.HANDOFF_RATE:
        total, handed = handoff_rate(account=account, window=window)
        rate = handed / total if total else 0.0
        return Reading(
            rate,
            total >= rule.min_volume and rate > threshold,
            f"Hand-off rate {rate:.0%} ({handed} of {total} conversations), above {threshold:.0%}",
        )
    if kind == AlertRule.Kind.ERROR_RATE_SPIKE:
        finished, failed = error_rate(account=account, window=window)
        before_finished, before_failed = error_rate(account=account, window=window.previous())
        rate = failed / finished if finished else 0.0
        before = before_failed / before_finished if before_finished else 0.0
        return Reading(
            rate,
            finished >= rule.min_volume and rate > threshold * max(before, ERROR_RATE_FLOOR),
            f"Error rate {rate:.1%} ({failed} of {finished} replies), was {before:.1%} before",
        )
    if kind == AlertRule.Kind.CIRCULAR_HANDOFFS:
        count = guardrail_events_in(account=account, window=window).filter(kind__in=CIRCULAR_KINDS).count()
        noun = "circular hand-off stopped" if count == 1 else "circular hand-offs stopped"
    elif kind == AlertRule.Kind.STEP_LIMITS:
        count = (
            guardrail_events_in(account=account, window=window)
            .filter(kind=GuardrailEvent.Kind.STEP_LIMIT)
            .count()
        )
        noun = "step limit hit" if count == 1 else "step limits hit"
    elif kind == AlertRule.Kind.GATE_DENIALS:
        count = _gate_problems(account, window)
        noun = "gate denials, refusals and tool failures"
    else:
        found = sla_breaches_open(account=account, now=now)
        return Reading(float(found), found > threshold, f"{found} escalations in the queue past their SLA")
    return Reading(float(count), count > threshold, f"{count} {noun} in the last {rule.window_minutes} min")


def _admin_emails(account: Account) -> list[str]:
    users = get_user_model().objects.filter(
        memberships__account=account, memberships__role=Membership.Role.ADMIN, is_active=True
    )
    return sorted({email for email in users.values_list("email", flat=True) if email})


def alert_notify(*, alert_id: int) -> bool:
    """Email a firing alert to the account's admins, once: the row is claimed under a lock, so two
    workers (or a retried task) cannot both send it. Returns whether this call sent it."""
    with transaction.atomic():
        alert = (
            Alert.objects.select_for_update()
            .select_related("account", "rule")
            .filter(pk=alert_id, emailed_at__isnull=True)
            .first()
        )
        if alert is None:
            return False
        recipients = _admin_emails(alert.account)
        if recipients:
            send_mail(
                subject=f"[{alert.account.name}] {alert.get_severity_display()} alert: "
                f"{alert.rule.get_kind_display()}",
                message=(
                    f"{alert.message}.\n\nRule: {alert.rule.description}.\n"
                    f"Fired at {alert.fired_at:%Y-%m-%d %H:%M} UTC. It resolves by itself when the figure "
                    "is back under the threshold; the analytics pages show it until then:\n"
                    f"{settings.SITE_URL.rstrip('/')}{reverse('analytics:alerts')}\n"
                ),
                from_email=settings.DEFAULT_FROM_EMAIL,
                recipient_list=recipients,
            )
        alert.emailed_at = timezone.now()
        alert.emailed_to = recipients
        alert.save(update_fields=["emailed_at", "emailed_to"])
    return True


def rule_evaluate(*, rule: AlertRule, now: datetime | None = None) -> Alert | None:
    """Check one rule: open an alert on a new breach, update or resolve the open one.
    Returns the alert that is open after the check, if any."""
    now = now or timezone.now()
    silenced = rule.is_silenced(now)
    reading = rule_read(rule=rule, now=now)
    open_alert = Alert.objects.filter(rule=rule, status=Alert.Status.FIRING).first()
    if open_alert is not None:
        open_alert.last_value = reading.value
        open_alert.last_checked_at = now
        if not reading.breached:
            open_alert.status = Alert.Status.RESOLVED
            open_alert.resolved_at = now
        open_alert.save(update_fields=["last_value", "last_checked_at", "status", "resolved_at"])
        if open_alert.emailed_at is None and reading.breached and not silenced:
            # The first notification never went out (broker down, worker lost): send it now.
            # alert_notify sends at most once, so this cannot email twice.
            _notify_on_commit(open_alert.pk)
        return open_alert if reading.breached else None
    if not reading.breached or silenced:
        # A silenced rule opens nothing and emails nobody until the silence ends; a breach that
        # still holds then fires as a new alert.
        return None
    try:
        with transaction.atomic():
            alert = Alert.objects.create(
                account=rule.account, rule=rule, severity=rule.severity, message=reading.message,
                value=reading.value, last_value=reading.value, fired_at=now, last_checked_at=now,
            )  # fmt: skip
    except IntegrityError:  # another check opened it at the same moment
        return Alert.objects.filter(rule=rule, status=Alert.Status.FIRING).first()
    _notify_on_commit(alert.pk)
    return alert


def _notify_on_commit(alert_id: int) -> None:
    from analytics.tasks import notify_alert

    def send() -> None:
        try:
            notify_alert.delay(alert_id)
        except Exception:  # the broker is down: the next check (a minute later) tries again
            logger.exception("analytics: could not queue the email of alert %s", alert_id)

    transaction.on_commit(send)


def alerts_evaluate_account(*, account_id: int, now: datetime | None = None) -> list[Alert]:
    """Check every enabled rule of the account; returns the alerts open afterwards."""
    rules = AlertRule.objects.filter(account_id=account_id, enabled=True).select_related("account")
    open_alerts = []
    for rule in rules:
        alert = rule_evaluate(rule=rule, now=now)
        if alert is not None:
            open_alerts.append(alert)
    # Rules switched off resolve their open alerts rather than leaving them firing for ever.
    Alert.objects.filter(account_id=account_id, status=Alert.Status.FIRING, rule__enabled=False).update(
        status=Alert.Status.RESOLVED, resolved_at=now or timezone.now()
    )
    return open_alerts


def accounts_with_rules() -> list[int]:
    return list(
        AlertRule.objects.filter(enabled=True).values_list("account_id", flat=True).distinct().order_by()
    )


SILENCE_MAX_MINUTES = 7 * 24 * 60


def alert_acknowledge(*, alert: Alert, user: AbstractBaseUser, note: str = "") -> Alert:
    """Someone has seen the alert and is on it: recorded with who, when and why. It stays
    firing (the figure decides that) but no longer counts in the nav badge."""
    if alert.acknowledged_at is not None:
        return alert
    alert.acknowledged_at = timezone.now()
    alert.acknowledged_by = user
    alert.acknowledge_note = note.strip()[:2000]
    alert.save(update_fields=["acknowledged_at", "acknowledged_by", "acknowledge_note"])
    return alert


def alert_rule_silence(*, rule: AlertRule, user: AbstractBaseUser, minutes: int, reason: str) -> AlertRule:
    """Silence a rule for ``minutes`` (0 ends a silence): it neither fires nor emails until then."""
    if isinstance(minutes, bool) or not isinstance(minutes, int) or not 0 <= minutes <= SILENCE_MAX_MINUTES:
        raise ValidationError(
            {"minutes": [f"A silence lasts from 0 to {SILENCE_MAX_MINUTES} minutes (a week)."]}
        )
    reason = reason.strip()
    if minutes and not reason:
        raise ValidationError({"reason": ["Say why the rule is silenced, for whoever sees it next."]})
    now = timezone.now()
    if minutes:
        rule.silenced_until = now + timedelta(minutes=minutes)
        rule.silenced_at, rule.silenced_by, rule.silence_reason = now, user, reason[:2000]
    else:
        rule.silenced_until = None
    rule.save(update_fields=["silenced_until", "silenced_at", "silenced_by", "silence_reason"])
    return rule


def alert_rule_update(*, rule: AlertRule, data: dict) -> AlertRule:
    for name in ("threshold", "window_minutes", "min_volume", "severity", "enabled"):
        if name in data:
            setattr(rule, name, data[name])
    rule.save()
    return rule
