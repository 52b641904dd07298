"""/healthz tells anyone whether the app is up and what is down, and nothing more: the checks'
details and the escalation queue (per account) only to staff or a monitor with HEALTHZ_TOKEN."""

import pytest

from accounts.models import Membership

pytestmark = pytest.mark.django_db

TOKEN = "a-monitor-token"


@pytest.fixture(autouse=True)
def _token(settings):
    settings.HEALTHZ_TOKEN = TOKEN


@pytest.fixture
def queued_elsewhere(make_account, make_user):
    """An open escalation in an account the caller has nothing to do with."""
    from django.utils import timezone

    from conversations.models import Conversation, Message
    from escalations.models import Escalation

    account = make_account("initech")
    user = make_user(account, role=Membership.Role.MEMBER)
    conversation = Conversation.objects.create(account=account, user=user)
    message = Message.objects.create(conversation=conversation, role=Message.Role.USER, content="Help")
    return Escalation.objects.create(
        account=account,
        conversation=conversation,
        message=message,
        trigger=Escalation.Trigger.MANUAL,
        reason="Escalated by hand",
        question="Help",
        status=Escalation.Status.OPEN,
        queued_at=timezone.now(),
    )


def test_the_public_answer_is_the_status_and_the_failing_components_only(client, queued_elsewhere):
    response = client.get("/healthz")
    body = response.json()
    # Whether a worker answers depends on which stack tests ran before: the shape is the point.
    assert set(body) == {"status", "failing"}
    assert set(body["failing"]) <= {"database", "redis", "worker", "model"}
    assert response.status_code == (503 if body["failing"] else 200)
    assert body["status"] == ("error" if body["failing"] else "ok")


def test_a_member_who_is_not_staff_gets_the_public_answer(client, member):
    client.force_login(member)
    assert set(client.get("/healthz").json()) == {"status", "failing"}


def test_staff_see_the_checks_and_each_accounts_queue(client, admin_user, queued_elsewhere):
    client.force_login(admin_user)
    body = client.get("/healthz").json()
    assert isinstance(body["checks"]["worker"]["ok"], bool) and body["checks"]["worker"]["detail"]
    assert body["escalations"]["open"] == 1
    assert body["escalations_by_account"]["initech"]["open"] == 1


@pytest.mark.parametrize(
    "how",
    [{"headers": {"Authorization": f"Bearer {TOKEN}"}}, {"data": {"token": TOKEN}}],
    ids=["bearer-header", "query"],
)
def test_the_token_opens_the_details(client, queued_elsewhere, how):
    body = client.get("/healthz", **how).json()
    assert body["escalations_by_account"]["initech"]["open"] == 1


@pytest.mark.parametrize(
    "how",
    [{"headers": {"Authorization": "Bearer wrong"}}, {"data": {"token": TOKEN[:-1]}}],
    ids=["wrong-header", "wrong-query"],
)
def test_a_wrong_token_gets_the_public_answer(client, how):
    assert set(client.get("/healthz", **how).json()) == {"status", "failing"}


def test_without_a_configured_token_no_token_opens_the_details(client, settings):
    settings.HEALTHZ_TOKEN = ""
    assert set(client.get("/healthz", headers={"Authorization": "Bearer "}).json()) == {"status", "failing"}
