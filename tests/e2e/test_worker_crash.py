"""kill -9 the worker in the middle of a reply: nothing the user sent is lost,
and the reply is finished by the next worker, once, without doubled text."""

import pytest
from django.utils import timezone

from conversations.models import Message
from conversations.services import conversation_start
from tests.support.live import http_client, wait_for

pytestmark = [pytest.mark.stack, pytest.mark.django_db(transaction=True)]

WORDS = 150


def test_a_reply_survives_kill_9_of_its_worker(crash_stack, account, member):
    conversation = conversation_start(account=account, user=member)
    client = http_client(crash_stack.base_url, member)
    response = client.post(
        f"/chat/{conversation.pk}/messages/", data={"message": f"count={WORDS} delay=0.03"}
    )
    assert response.status_code == 201

    def reply_mid_stream():
        reply = Message.objects.filter(conversation=conversation, role="assistant").first()
        return reply if reply and reply.status == "streaming" and len(reply.content) > 20 else None

    reply = wait_for(reply_mid_stream, 30, "the reply never started streaming")
    crash_stack.kill_worker()
    reply.refresh_from_db()
    assert reply.status == "streaming"
    assert f"w{WORDS}" not in reply.content  # killed part-way through

    # Start the replacement once the dead worker's lease has run out.
    wait_for(lambda: timezone.now() > reply.lease_expires_at, 10, "lease never expired")
    crash_stack.start_worker()

    def finished():
        reply.refresh_from_db()
        return reply.status in {"complete", "failed"}

    wait_for(finished, 60, "the reply was never finished after the crash")
    expected = " ".join(f"w{i}" for i in range(1, WORDS + 1))
    assert reply.status == "complete", reply.error
    assert reply.content == expected  # restarted cleanly: nothing doubled
    assert reply.attempts == 2

    messages = list(Message.objects.filter(conversation=conversation).values_list("role", "content"))
    assert messages == [("user", f"count={WORDS} delay=0.03"), ("assistant", expected)]

    page = client.get(f"/chat/{conversation.pk}/", headers={"HX-Request": ""}).text
    assert 'data-status="complete"' in page and f"w{WORDS}" in page
