"""Alert rules on the hand-built dataset: an alert fires once, is emailed once, and resolves."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.core import mail

from analytics.models import Alert, AlertRule
from analytics.services import alert_rules_install_defaults, alerts_evaluate_account, rule_evaluate, rule_read
from config.celery import app as celery_app
from tests.analytics.conftest import NOW

pytestmark = pytest.mark.django_db

WEEK = 7 * 24 * 60


@pytest.fixture
def eager_celery():
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = False


def _rule(account, kind, threshold, **fields) -> AlertRule:
    return AlertRule.objects.create(
        account=account, kind=kind, threshold=threshold, window_minutes=WEEK, **fields
    )


@pytest.mark.parametrize(
    ("kind", "threshold", "value", "breached"),
    [
        (AlertRule.Kind.HANDOFF_RATE, 0.3, 0.5, True),  # 2 of 4 multi-agent conversations
        (AlertRule.Kind.HANDOFF_RATE, 0.5, 0.5, False),  # "above": equal is not a breach
        (AlertRule.Kind.CIRCULAR_HANDOFFS, 0, 1, True),  # C1's ping-pong
        (AlertRule.Kind.STEP_LIMITS, 1, 1, False),  # C3's, once: not more than 1
        (AlertRule.Kind.GATE_DENIALS, 1, 2, True),  # C2's denied approval and C3's refused tool
    ],
)
def test_rule_readings(dataset, noise, kind, threshold, value, breached):
    reading = rule_read(rule=_rule(dataset.account, kind, threshold, min_volume=2), now=NOW)
    assert (reading.value, reading.breached) == (value, breached)


def test_the_hand_off_rate_needs_enough_conversations(dataset):
    reading = rule_read(rule=_rule(dataset.account, AlertRule.Kind.HANDOFF_RATE, 0.3, min_volume=5), now=NOW)
    assert (reading.value, reading.breached) == (0.5, False)


def test_an_error_rate_spike_is_against_the_previous_window(dataset):
    # The last 3 days (and a minute): the replies of C1, C2, C3 and C4, 2 failed of 7 finished.
    # The 3 days before that: C5's one reply, none failed.
    rule = AlertRule.objects.create(
        account=dataset.account, kind=AlertRule.Kind.ERROR_RATE_SPIKE, threshold=2.0,
        window_minutes=3 * 24 * 60 + 1, min_volume=5,
    )  # fmt: skip
    reading = rule_read(rule=rule, now=NOW)
    assert reading.value == pytest.approx(2 / 7)
    assert reading.breached  # 28.6% > 2 x max(0%, 1% floor)
    assert "2 of 7 replies" in reading.message


def test_an_alert_fires_once_is_emailed_once_and_resolves(
    dataset, admin, operator, eager_celery, django_capture_on_commit_callbacks, settings
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    rule = _rule(dataset.account, AlertRule.Kind.HANDOFF_RATE, 0.3, min_volume=2, severity="critical")

    with django_capture_on_commit_callbacks(execute=True):
        fired = rule_evaluate(rule=rule, now=NOW)
    assert (fired.status, fired.value, fired.severity) == ("firing", 0.5, "critical")
    assert "Hand-off rate 50% (2 of 4 conversations)" in fired.message
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["ada@acme.example"]  # admins only, not the operator
    assert "Critical alert" in mail.outbox[0].subject

    # Still breaching a minute later: the same alert, no second email.
    with django_capture_on_commit_callbacks(execute=True):
        again = rule_evaluate(rule=rule, now=NOW + timedelta(minutes=1))
    assert again.pk == fired.pk
    assert Alert.objects.count() == 1 and len(mail.outbox) == 1

    # A month later the window is empty: resolved.
    with django_capture_on_commit_callbacks(execute=True):
        assert rule_evaluate(rule=rule, now=NOW + timedelta(days=30)) is None
    fired.refresh_from_db()
    assert (fired.status, fired.resolved_at) == ("resolved", NOW + timedelta(days=30))
    assert fired.emailed_to == ["ada@acme.example"]

    # Breaching again is a new firing, and a new email.
    with django_capture_on_commit_callbacks(execute=True):
        second = rule_evaluate(rule=rule, now=NOW)
    assert second.pk != fired.pk and len(mail.outbox) == 2


def test_notifying_twice_sends_once(dataset, admin, settings):
    from analytics.services import alert_notify

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    alert = rule_evaluate(rule=_rule(dataset.account, AlertRule.Kind.CIRCULAR_HANDOFFS, 0), now=NOW)
    assert alert_notify(alert_id=alert.pk) is True
    assert alert_notify(alert_id=alert.pk) is False
    assert len(mail.outbox) == 1


def test_the_beat_task_checks_every_account_with_rules(dataset, noise, eager_celery):
    from analytics.tasks import evaluate_alerts

    alert_rules_install_defaults(account=dataset.account)
    alert_rules_install_defaults(account=noise.account)
    # The hand-built traffic is in June 2026, not in the last hour: nothing fires now.
    assert evaluate_alerts() == 2
    assert (
        settings.CELERY_BEAT_SCHEDULE["evaluate-analytics-alerts"]["task"]
        == "analytics.tasks.evaluate_alerts"
    )
    assert Alert.objects.count() == 0


def test_switching_a_rule_off_resolves_its_alert(dataset):
    rule = _rule(dataset.account, AlertRule.Kind.CIRCULAR_HANDOFFS, 0)
    alert = rule_evaluate(rule=rule, now=NOW)
    AlertRule.objects.filter(pk=rule.pk).update(enabled=False)
    alerts_evaluate_account(account_id=dataset.account.pk, now=NOW)
    alert.refresh_from_db()
    assert alert.status == "resolved"


def test_default_rules_are_installed_once_per_kind(account):
    assert alert_rules_install_defaults(account=account) == 6
    assert alert_rules_install_defaults(account=account) == 0


def test_firing_alerts_show_on_the_pages_and_in_the_nav(dataset, operator_client):
    rule_evaluate(rule=_rule(dataset.account, AlertRule.Kind.CIRCULAR_HANDOFFS, 0), now=NOW)
    page = operator_client.get("/analytics/handoffs/").content.decode()
    assert 'data-firing-alerts="1"' in page  # the nav badge
    assert "1 circular hand-off stopped in the last 10080 min" in page
    alerts = operator_client.get("/analytics/alerts/").content.decode()
    assert 'data-status="firing"' in alerts


def test_admins_edit_rules_and_bad_values_change_nothing(dataset, admin, operator_client, client):
    rule = _rule(dataset.account, AlertRule.Kind.HANDOFF_RATE, 0.3)
    form = {f"rule{rule.pk}-{k}": v for k, v in
            {"threshold": "0.25", "window_minutes": "30", "min_volume": "10", "severity": "critical",
             "enabled": "on"}.items()}  # fmt: skip
    assert operator_client.post(f"/analytics/alerts/rules/{rule.pk}/", form).status_code == 403
    client.force_login(admin)
    bad = client.post(f"/analytics/alerts/rules/{rule.pk}/", form | {f"rule{rule.pk}-threshold": "3"})
    assert bad.status_code == 400
    assert b"between 0 and 1" in bad.content
    rule.refresh_from_db()
    assert rule.threshold == 0.3
    assert client.post(f"/analytics/alerts/rules/{rule.pk}/", form).status_code == 302
    rule.refresh_from_db()
    assert (rule.threshold, rule.window_minutes, rule.severity) == (0.25, 30, "critical")


def test_another_accounts_rule_is_404(dataset, noise, admin, client):
    theirs = _rule(noise.account, AlertRule.Kind.HANDOFF_RATE, 0.3)
    client.force_login(admin)
    assert client.post(f"/analytics/alerts/rules/{theirs.pk}/", {}).status_code == 404


def test_the_rollout_gate_fails_while_a_critical_alert_is_open(dataset):
    from rollout.gates import GATES, gates_evaluate

    assert "no_critical_alerts" in GATES
    gate = {r.key: r for r in gates_evaluate(account=dataset.account, config={})}["no_critical_alerts"]
    assert gate.passed
    rule = _rule(dataset.account, AlertRule.Kind.CIRCULAR_HANDOFFS, 0, severity="critical")
    alert = rule_evaluate(rule=rule, now=NOW)
    gate = {r.key: r for r in gates_evaluate(account=dataset.account, config={})}["no_critical_alerts"]
    assert (gate.passed, gate.figure) == (False, "1 open")
    assert alert.message in gate.reason
    rule_evaluate(rule=rule, now=NOW + timedelta(days=30))  # resolved
    assert {r.key: r for r in gates_evaluate(account=dataset.account, config={})}["no_critical_alerts"].passed


def test_an_alert_whose_email_never_went_out_is_sent_at_the_next_check(
    dataset, admin, eager_celery, django_capture_on_commit_callbacks, settings
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    rule = _rule(dataset.account, AlertRule.Kind.CIRCULAR_HANDOFFS, 0)
    alert = rule_evaluate(rule=rule, now=NOW)  # no commit callbacks run: as if the broker were down
    assert mail.outbox == [] and Alert.objects.get(pk=alert.pk).emailed_at is None
    with django_capture_on_commit_callbacks(execute=True):
        rule_evaluate(rule=rule, now=NOW + timedelta(minutes=1))
    with django_capture_on_commit_callbacks(execute=True):
        rule_evaluate(rule=rule, now=NOW + timedelta(minutes=2))
    assert len(mail.outbox) == 1


def test_the_alert_email_links_to_the_alerts_page_at_the_site_url(dataset, admin, settings):
    from analytics.services import alert_notify

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.SITE_URL = "http://127.0.0.1:8010/"
    alert = rule_evaluate(rule=_rule(dataset.account, AlertRule.Kind.CIRCULAR_HANDOFFS, 0), now=NOW)
    assert alert_notify(alert_id=alert.pk) is True
    assert "http://127.0.0.1:8010/analytics/alerts/\n" in mail.outbox[0].body
