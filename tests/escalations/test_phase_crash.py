"""kill -9 the worker in the middle of a ladder phase: the next worker resumes that phase
(its lease ran out) and finishes it once."""

import time

import pytest
from django.utils import timezone

from conversations.models import Message
from conversations.services import conversation_start
from escalations.models import AgentConsultation, Escalation, PhaseRun
from escalations.services import escalation_open, policy_for_account
from escalations.tasks import run_phase
from tests.support.live import wait_for
from tests.support.stack import Stack

pytestmark = [pytest.mark.stack, pytest.mark.django_db(transaction=True)]

SCRIPT = "Help me || @research: wait 0.5 Restart the gateway, then sign in again. Confidence: 90%"


@pytest.fixture
def phase_crash_stack(django_db_setup):
    running = Stack(ESCALATION_PHASE_LEASE_SECONDS="2")
    try:
        running.start_worker()
        yield running
    finally:
        running.stop()


def test_a_phase_resumes_after_kill_9_and_finishes_once(phase_crash_stack, account, member, agents):
    policy = policy_for_account(account_id=account.pk)
    policy.quick_fix_enabled = False
    policy.save()
    conversation = conversation_start(account=account, user=member)
    question = Message.objects.create(conversation=conversation, role="user", content=SCRIPT)
    escalation, _ = escalation_open(
        conversation=conversation, message=question, trigger="cannot_resolve", reason="x"
    )
    assert escalation.phase == "research"
    run_phase.apply_async(args=[escalation.pk, "research"], queue=phase_crash_stack.env["CELERY_QUEUE"])

    def running():
        return PhaseRun.objects.filter(escalation=escalation, phase="research", outcome="running").first()

    run = wait_for(running, 30, "the research phase never started")
    time.sleep(1.5)  # mid-answer: the agent writes a word every 0.5 s
    phase_crash_stack.kill_worker()
    run.refresh_from_db()
    assert (run.outcome, run.attempts) == ("running", 1)
    wait_for(
        lambda: timezone.now() > PhaseRun.objects.get(pk=run.pk).lease_expires_at, 10, "lease never expired"
    )
    phase_crash_stack.start_worker()  # its start-up recovery takes the orphaned phase

    def finished():
        return Escalation.objects.filter(pk=escalation.pk).exclude(status="ladder").first()

    escalation = wait_for(finished, 60, "the phase never finished after the crash")
    run.refresh_from_db()
    assert (escalation.status, escalation.resolved_by_phase) == ("resolved", "research")
    assert (run.outcome, run.attempts) == ("resolved", 2)
    assert AgentConsultation.objects.filter(escalation=escalation).count() == 1
    answers = Message.objects.filter(conversation=conversation, agent=agents["research"])
    assert [m.content for m in answers] == [escalation.answer_message.content]
    assert "Restart the gateway" in answers[0].content
