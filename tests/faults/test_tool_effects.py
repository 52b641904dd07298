"""Exactly-once effects: a call to a live system whose outcome is unknown is never repeated blindly.

A real HTTP server on the loopback plays the customer's live system and records every request it
gets (with its ``Idempotency-Key``). The worker is killed with kill -9 while the system holds the
request open, so the call did reach the system but the worker never learned the answer."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from django.db import connections

import durable
from agents.catalog.install import tools_install
from agents.models import AgentInstance, AgentTemplate, LiveSystemConnection
from conversations.models import Approval, Message, ToolCall
from conversations.services import approval_decide, conversation_start
from tests.support.live import http_client, wait_for
from tests.support.live_system import SCRIPT, LiveSystem


@pytest.fixture
def live_system() -> Iterator[LiveSystem]:
    with LiveSystem() as system:
        yield system


def _operator_conversation(account, member, live_url: str, timeout: float = 10.0):
    tools = tools_install()
    template = AgentTemplate.objects.create(slug="ops-kind", name="Ops kind")
    operator = AgentInstance.objects.create(account=account, template=template, slug="operator", name="Ops")
    operator.tools.set([tools["live_system_request"]])
    LiveSystemConnection.objects.create(account=account, base_url=live_url, timeout_seconds=timeout)
    conversation = conversation_start(account=account, user=member, agent=operator)
    return conversation


@pytest.mark.stack
@pytest.mark.django_db(transaction=True)
def test_a_live_call_cut_off_by_kill_9_waits_for_its_owner_and_is_never_repeated_silently(
    make_fault_stack, live_system, account, member
):
    stack = make_fault_stack(webs=1, workers=1)
    conversation = _operator_conversation(account, member, live_system.url)
    live_system.hold_first = True
    client = http_client(stack.web_url(stack.web_ports[0]), member)
    assert client.post(f"/chat/{conversation.pk}/messages/", data={"message": SCRIPT}).status_code == 201
    approval = wait_for(lambda: Approval.objects.filter(conversation=conversation).first(), 30, "no card")
    approved = client.post(
        f"/chat/{conversation.pk}/approvals/{approval.public_id}/", data={"decision": "approve"}
    )
    assert approved.status_code == 200

    # The request reached the live system; the worker dies before the answer comes back.
    assert live_system.received.wait(30), "the live system was never called"
    stack.kill_worker()
    live_system.release.set()
    stack.start_worker()  # its start-up scan (and beat's) resumes the turn once the lease runs out

    reply = Message.objects.get(conversation=conversation, role="assistant")

    def stopped_for_the_owner():
        reply.refresh_from_db()
        return reply.status == "awaiting_approval" and ToolCall.objects.get().status == "uncertain"

    wait_for(stopped_for_the_owner, 60, "the resumed turn did not stop at 'may or may not have run'")
    assert len(live_system.requests) == 1  # resumed, and not called again
    call = ToolCall.objects.get()
    assert live_system.requests[0]["key"] == call.idempotency_key
    page = client.get(f"/chat/{conversation.pk}/")
    assert "may or may not have run" in page.text and 'value="run_again"' in page.text
    # A message sent meanwhile is refused, not queued behind an action nobody settled.
    assert client.post(f"/chat/{conversation.pk}/messages/", data={"message": "hello?"}).status_code == 409

    # The owner checked and chose to run it again: one deliberate call, with the same key.
    resolve_url = f"/chat/{conversation.pk}/tool-calls/{call.pk}/resolve/"
    assert client.post(resolve_url, data={"outcome": "run_again"}).status_code == 200

    def finished():
        reply.refresh_from_db()
        return reply.status in {"complete", "failed"}

    wait_for(finished, 60, "the turn never finished after the owner's answer")
    assert reply.status == "complete", reply.error
    assert reply.content.endswith("The billing service was restarted.")
    assert [r["key"] for r in live_system.requests] == [call.idempotency_key] * 2
    call.refresh_from_db()
    assert call.status == "completed" and call.resolution == "run_again" and call.resolved_by == member
    assert list(
        Message.objects.filter(conversation=conversation, role="user").values_list("content", flat=True)
    ) == [SCRIPT]
    # Answered once: a second answer (a replayed form) changes nothing.
    assert client.post(resolve_url, data={"outcome": "ran"}).status_code == 409


@pytest.mark.django_db(transaction=True)
def test_a_live_call_that_never_answers_stops_the_turn_and_it_ran_goes_on_without_calling_again(
    eager_tasks, account, member, make_user, client
):
    with LiveSystem(delay=3) as system:
        conversation = _operator_conversation(account, member, system.url, timeout=0.5)
        client.force_login(member)
        client.post(f"/chat/{conversation.pk}/messages/", data={"message": SCRIPT}, HTTP_HX_REQUEST="true")
        approval = Approval.objects.get(conversation=conversation)
        client.post(
            f"/chat/{conversation.pk}/approvals/{approval.public_id}/",
            data={"decision": "approve"},
            HTTP_HX_REQUEST="true",
        )
        reply = Message.objects.get(conversation=conversation, role="assistant")
        call = ToolCall.objects.get()
        assert reply.status == "awaiting_approval"
        assert call.status == "uncertain" and "did not answer within 0.5 s" in call.error
        assert len(system.requests) == 1

        # Only the owner answers: another member of the account gets the 404 of a missing call.
        other = make_user(account=account, username="colleague")
        client.force_login(other)
        url = f"/chat/{conversation.pk}/tool-calls/{call.pk}/resolve/"
        assert client.post(url, data={"outcome": "ran"}).status_code == 404
        client.force_login(member)
        assert client.post(url, data={"outcome": "maybe"}).status_code == 400
        response = client.post(url, data={"outcome": "ran"}, HTTP_HX_REQUEST="true")
        assert response.status_code == 200

        reply.refresh_from_db()
        call.refresh_from_db()
        assert reply.status == "complete", reply.error
        assert reply.content.endswith("The billing service was restarted.")
        assert call.status == "completed" and call.result["confirmed_by_user"] is True
        assert len(system.requests) == 1  # "it ran": the turn went on without a second call


@pytest.mark.django_db(transaction=True)
def test_a_tool_call_longer_than_the_lease_is_not_taken_over_while_its_worker_lives(
    eager_tasks, account, member, client, settings
):
    settings.REPLY_LEASE_SECONDS = 0.6  # renewed every 0.2 s by the heartbeat
    with LiveSystem(delay=2) as system:  # the call takes more than three leases
        conversation = _operator_conversation(account, member, system.url)
        client.force_login(member)
        client.post(f"/chat/{conversation.pk}/messages/", data={"message": SCRIPT}, HTTP_HX_REQUEST="true")
        approval = Approval.objects.get(conversation=conversation)

        def work() -> None:  # the worker: the approved turn runs here, through the long call
            try:
                approval_decide(approval=approval, user=member, approve=True)
            finally:
                connections.close_all()

        worker = threading.Thread(target=work)
        worker.start()
        assert system.received.wait(10), "the live system was never called"
        time.sleep(1.2)  # two leases into the call, with nothing written meanwhile
        reply = Message.objects.get(conversation=conversation, role="assistant")
        attempts = reply.attempts
        assert reply.status == "streaming"
        assert durable.lease_state(reply) == durable.LeaseState.LIVE
        assert durable.recover("reply") == []  # its worker lives: not an orphan
        worker.join(timeout=30)

        reply.refresh_from_db()
        assert reply.status == "complete", reply.error
        assert reply.content.endswith("The billing service was restarted.")
        assert (reply.attempts, reply.interruptions) == (attempts, 0)
        assert ToolCall.objects.get().status == "completed"
        assert len(system.requests) == 1
