"""kill -9 the worker in the middle of a multi-step turn: it resumes from its
checkpoint, and the tool call it had completed is not run again."""

import pytest
from django.utils import timezone

from agents.catalog.install import tools_install
from agents.models import AgentInstance, AgentTemplate, Ticket
from conversations.models import Approval, Message, ToolCall
from conversations.services import conversation_start
from tests.support.live import http_client, wait_for

pytestmark = [pytest.mark.stack, pytest.mark.django_db(transaction=True)]

WORDS = 120
SCRIPT = '@fixer: tool ticket_create {"title": "Crash test"}; wait 0.03 ' + " ".join(
    f"w{i}" for i in range(1, WORDS + 1)
)


def test_a_turn_resumes_after_kill_9_without_running_its_tool_twice(crash_stack, account, member):
    tools = tools_install()
    template = AgentTemplate.objects.create(slug="crash-kind", name="Crash kind")
    fixer = AgentInstance.objects.create(account=account, template=template, slug="fixer", name="Fixer")
    fixer.tools.set([tools["ticket_create"]])
    conversation = conversation_start(account=account, user=member)
    conversation.agent = fixer
    conversation.save()

    client = http_client(crash_stack.base_url, member)
    assert client.post(f"/chat/{conversation.pk}/messages/", data={"message": SCRIPT}).status_code == 201
    approval = wait_for(
        lambda: Approval.objects.filter(conversation=conversation).first(), 30, "no approval card"
    )
    decided = client.post(
        f"/chat/{conversation.pk}/approvals/{approval.public_id}/", data={"decision": "approve"}
    )
    assert decided.status_code == 200

    def streaming_after_the_tool():
        reply = Message.objects.get(conversation=conversation, role="assistant")
        return reply if reply.status == "streaming" and len(reply.content) > 20 else None

    reply = wait_for(streaming_after_the_tool, 30, "the second step never started streaming")
    assert Ticket.objects.count() == 1
    crash_stack.kill_worker()
    reply.refresh_from_db()
    wait_for(lambda: timezone.now() > reply.lease_expires_at, 10, "lease never expired")
    crash_stack.start_worker()

    def finished():
        reply.refresh_from_db()
        return reply.status in {"complete", "failed"}

    wait_for(finished, 60, "the turn never finished after the crash")
    assert reply.status == "complete", reply.error
    assert reply.content == " ".join(f"w{i}" for i in range(1, WORDS + 1))
    assert Ticket.objects.count() == 1  # the completed call was not run again
    call = ToolCall.objects.get()
    assert call.status == "completed" and call.result["ticket"]["title"] == "Crash test"
    assert reply.interruptions == 1
