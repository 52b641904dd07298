"""The queue socket through the real ASGI stack and Redis channel layer, the email that
must never lose an escalation, and the queue in /healthz."""

from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import transaction
from django.utils import timezone

from config.asgi import application
from escalations.models import Escalation
from escalations.notifications import escalation_email_send
from escalations.realtime import publish_escalation
from escalations.tasks import email_operators
from escalations.triggers import reply_inspect
from tests.escalations.conftest import chat_turn, client_for, climb

pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = (b"origin", b"http://testserver")


def _cookie(user) -> tuple[bytes, bytes]:
    return (b"cookie", f"sessionid={client_for(user).cookies['sessionid'].value}".encode())


async def _connect(user=None, path: str = "/ws/escalations/"):
    headers = [ORIGIN]
    if user is not None:
        headers.append(await database_sync_to_async(_cookie)(user))
    communicator = WebsocketCommunicator(application, path, headers=headers)
    connected, _ = await communicator.connect()
    return communicator, connected


@pytest.fixture
def queued(account, member, agents, operator):
    reply = chat_turn(account, member, "@assistant: say I don't know. Can I speak to a person?")
    return climb(reply_inspect(reply_id=reply.pk))


async def test_members_and_strangers_are_refused(member):
    assert not (await _connect())[1]
    assert not (await _connect(member))[1]


async def test_an_operator_gets_changes_of_their_account_only(queued, operator, outsider):
    from accounts.models import Membership

    await database_sync_to_async(Membership.objects.filter(user=outsider).update)(role="operator")
    ours, connected = await _connect(operator)
    theirs, other_connected = await _connect(outsider)
    assert connected and other_connected
    await database_sync_to_async(publish_escalation)(queued.account_id, queued.pk)
    html = await ours.receive_from(timeout=5)
    assert 'id="queue-live"' in html and f'data-escalation="{queued.pk}"' in html
    assert await theirs.receive_nothing(timeout=0.5)
    await ours.disconnect()
    await theirs.disconnect()


async def test_each_page_gets_only_fragments_whose_targets_it_has(queued, operator):
    """The queue page has no escalation's live slot and the detail page has no queue table:
    an out-of-band swap without its target is an htmx console error (oobErrorNoTarget)."""
    queue_page, _ = await _connect(operator)
    this_detail, _ = await _connect(operator, f"/ws/escalations/?escalation={queued.pk}")
    other_detail, _ = await _connect(operator, f"/ws/escalations/?escalation={queued.pk + 1000}")
    await database_sync_to_async(publish_escalation)(queued.account_id, queued.pk)
    queue_html = await queue_page.receive_from(timeout=5)
    assert 'id="queue-live"' in queue_html and "escalation-live" not in queue_html
    detail_html = await this_detail.receive_from(timeout=5)
    assert f'id="escalation-live-{queued.pk}"' in detail_html
    assert f"/escalations/{queued.pk}/live/" in detail_html
    assert "queue-live" not in detail_html
    assert await other_detail.receive_nothing(timeout=0.5)
    for communicator in (queue_page, this_detail, other_detail):
        await communicator.disconnect()


async def test_claiming_publishes_to_the_queue(queued, operator, second_operator):
    from escalations.services import escalation_claim

    watcher, connected = await _connect(second_operator)
    assert connected

    def claim():
        with transaction.atomic():
            escalation_claim(escalation=Escalation.objects.get(pk=queued.pk), user=operator)

    await database_sync_to_async(claim)()
    assert f'data-escalation="{queued.pk}"' in await watcher.receive_from(timeout=5)
    await watcher.disconnect()


def test_a_failed_email_is_recorded_retried_and_never_loses_the_escalation(
    queued, operator, settings, caplog
):
    operator.email = "olivia@acme.example"
    operator.save()
    # A real SMTP connection to a port where nothing listens.
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2
    result = email_operators.apply(args=[queued.pk])  # eager: every retry runs here, back to back
    assert result.failed()
    queued.refresh_from_db()
    assert queued.status == "open"
    assert queued.email_status == "failed" and queued.email_attempts == email_operators.max_retries + 1
    assert queued.email_error
    assert "email to operators failed" in caplog.text

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert email_operators.apply(args=[queued.pk]).successful()
    queued.refresh_from_db()
    assert queued.email_status == "sent" and queued.email_error == ""


def test_no_operator_email_is_said_plainly(queued):
    assert escalation_email_send(escalation_id=queued.pk) == "no_recipients"


def test_healthz_includes_the_queue_for_staff(queued, client, django_user_model):
    Escalation.objects.filter(pk=queued.pk).update(
        queued_at=timezone.now() - timedelta(hours=2),
        first_response_due_at=timezone.now() - timedelta(hours=1),
    )
    # The queue's figures are not public: staff (or a monitor with HEALTHZ_TOKEN) only.
    client.force_login(django_user_model.objects.create_user(username="staff", is_staff=True))
    report = client.get("/healthz").json()
    body = report["escalations"]
    assert body["open"] == 1 and body["unclaimed"] == 1
    assert body["oldest_age_seconds"] >= 7200 and body["sla_breaches"] == 1
    assert report["escalations_by_account"][queued.account.slug]["open"] == 1


async def test_a_persons_reply_is_appended_to_the_users_open_chat(queued, member, operator):
    from escalations.services import escalation_reply

    cookie = await database_sync_to_async(_cookie)(member)
    chat = WebsocketCommunicator(
        application, f"/ws/conversations/{queued.conversation_id}/", headers=[ORIGIN, cookie]
    )
    connected, _ = await chat.connect()
    assert connected
    await chat.receive_from(timeout=5)  # the re-sync of the latest reply

    def reply():
        with transaction.atomic():
            return escalation_reply(
                escalation=Escalation.objects.get(pk=queued.pk), user=operator, content="On it."
            )

    message = await database_sync_to_async(reply)()
    html = await chat.receive_from(timeout=5)
    assert 'hx-swap-oob="beforeend:#messages"' in html and f'id="message-{message.pk}"' in html
    assert "from a person" in html and "On it." in html
    await chat.disconnect()
