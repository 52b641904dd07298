"""Alerts acknowledged (who, when, why; out of the nav count) and rules silenced for a period
(who and why): a silenced rule neither fires nor emails until the period ends."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from accounts.auth import api_token_create
from analytics.models import Alert, AlertRule
from analytics.services import alert_rule_silence, rule_evaluate
from config.celery import app as celery_app
from tests.analytics.conftest import NOW
from tests.api.conftest import ApiClient

pytestmark = pytest.mark.django_db

WEEK = 7 * 24 * 60


@pytest.fixture
def eager_celery():
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = False


@pytest.fixture
def rule(dataset):
    """Breached on the hand-built traffic at NOW: C1's circular hand-off."""
    return AlertRule.objects.create(
        account=dataset.account, kind=AlertRule.Kind.CIRCULAR_HANDOFFS, threshold=0, window_minutes=WEEK
    )


def test_a_silenced_rule_does_not_fire_or_email_until_the_period_ends(
    rule, admin, eager_celery, django_capture_on_commit_callbacks, settings
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    alert_rule_silence(rule=rule, user=admin, minutes=60, reason="Known: the vendor's router loops.")
    rule.refresh_from_db()
    assert (rule.silenced_by, rule.silence_reason) == (admin, "Known: the vendor's router loops.")
    AlertRule.objects.filter(pk=rule.pk).update(silenced_until=NOW + timedelta(minutes=30))
    rule.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        assert rule_evaluate(rule=rule, now=NOW) is None
        assert rule_evaluate(rule=rule, now=NOW + timedelta(minutes=29)) is None
    assert not Alert.objects.exists() and not mail.outbox
    # The silence is over and the breach still holds: it fires, and is emailed.
    with django_capture_on_commit_callbacks(execute=True):
        fired = rule_evaluate(rule=rule, now=NOW + timedelta(minutes=31))
    assert fired is not None and fired.status == "firing" and len(mail.outbox) == 1


def test_a_silence_needs_a_reason_and_a_sane_length(rule, admin):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="Say why"):
        alert_rule_silence(rule=rule, user=admin, minutes=60, reason=" ")
    with pytest.raises(ValidationError, match="from 0 to"):
        alert_rule_silence(rule=rule, user=admin, minutes=60 * 24 * 30, reason="long")
    alert_rule_silence(rule=rule, user=admin, minutes=60, reason="maintenance")
    alert_rule_silence(rule=rule, user=admin, minutes=0, reason="")  # ends it
    rule.refresh_from_db()
    assert rule.silenced_until is None and not rule.is_silenced()


def test_acknowledging_on_the_page_records_who_and_why_and_leaves_the_nav_count(
    rule, operator, operator_client
):
    alert = rule_evaluate(rule=rule, now=NOW)
    page = operator_client.get("/analytics/alerts/").content.decode()
    assert 'data-firing-alerts="1"' in page
    assert 'class="firing-alerts"' in page and 'badge badge-error">1<' in page
    response = operator_client.post(f"/analytics/alerts/{alert.pk}/acknowledge/", {"note": "Looking at C1."})
    assert response.status_code == 302
    alert.refresh_from_db()
    assert (alert.acknowledged_by, alert.acknowledge_note, alert.status) == (
        operator,
        "Looking at C1.",
        "firing",
    )
    page = operator_client.get("/analytics/alerts/").content.decode()
    assert "data-firing-alerts" not in page  # no longer counted in the nav
    assert 'data-acknowledged="yes"' in page and 'data-acknowledged-by="olga"' in page
    assert "Firing, acknowledged" in page and "Looking at C1." in page
    # Nor in the Alerts tab's badge or the banner every analytics page shows.
    assert 'class="firing-alerts"' not in page
    assert 'badge badge-error">1<' not in page


def test_silencing_on_the_page_is_for_admins(rule, admin, operator_client, client):
    form = {"minutes": "240", "reason": "Planned migration tonight."}
    assert operator_client.post(f"/analytics/alerts/rules/{rule.pk}/silence/", form).status_code == 403
    client.force_login(admin)
    assert client.post(f"/analytics/alerts/rules/{rule.pk}/silence/", {"minutes": "60"}).status_code == 400
    assert client.post(f"/analytics/alerts/rules/{rule.pk}/silence/", form).status_code == 302
    rule.refresh_from_db()
    assert rule.is_silenced() and rule.silenced_until > timezone.now() + timedelta(minutes=239)
    page = client.get("/analytics/alerts/").content.decode()
    assert 'data-silenced="yes"' in page and "Planned migration tonight." in page and "by ada" in page


def test_acknowledge_and_silence_over_the_api(rule, admin, operator, noise):
    alert = rule_evaluate(rule=rule, now=NOW)
    operator_api = ApiClient(api_token_create(user=operator, name="t")[1])
    admin_api = ApiClient(api_token_create(user=admin, name="t")[1])
    acked = operator_api.post(
        f"/api/accounts/acme/analytics/alerts/{alert.pk}/acknowledge", {"note": "on it"}
    )
    assert acked.status_code == 200
    assert (acked.json()["acknowledged_by"], acked.json()["acknowledge_note"]) == ("olga", "on it")
    silence = {"minutes": 30, "reason": "flapping"}
    path = f"/api/accounts/acme/analytics/alert-rules/{rule.pk}/silence"
    assert operator_api.post(path, silence).status_code == 403
    silenced = admin_api.post(path, silence)
    assert silenced.status_code == 200 and silenced.json()["silenced_by"] == "ada"
    assert admin_api.post(path, {"minutes": 30, "reason": ""}).status_code == 400
    theirs = AlertRule.objects.create(account=noise.account, kind="step_limits", threshold=1)
    assert (
        admin_api.post(f"/api/accounts/acme/analytics/alert-rules/{theirs.pk}/silence", silence).status_code
        == 404
    )
