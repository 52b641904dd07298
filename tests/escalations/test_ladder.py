"""The ladder, in-process on the scripted model: what opens an escalation, each phase
resolving and falling through, the votes, and the hand-over to a person."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

import durable
from conversations.models import Message
from conversations.services import message_feedback_set
from escalations.consultation import consultation_collect
from escalations.ladder import phase_run
from escalations.models import AgentConsultation, Escalation, LearnedPattern, PhaseRun
from escalations.services import policy_for_account
from escalations.triggers import feedback_inspect, reply_inspect
from tests.escalations.conftest import chat_turn, climb

pytestmark = pytest.mark.django_db(transaction=True)

CANT = "@assistant: say I don't know how to fix that."
NO_RESEARCH = " || @research: say I cannot resolve this"


def _escalate(account, member, script: str) -> Escalation:
    reply = chat_turn(account, member, script)
    escalation = reply_inspect(reply_id=reply.pk)
    assert escalation is not None, reply.content
    return escalation


def _phases(escalation: Escalation) -> dict[str, str]:
    return dict(escalation.phase_runs.values_list("phase", "outcome"))


def _approved_pattern(account, problem: str, fix: str) -> LearnedPattern:
    return LearnedPattern.objects.create(account=account, problem=problem, fix=fix, status="approved")


# --- triggers ---------------------------------------------------------------------------------


def test_an_agent_that_cannot_resolve_opens_one_escalation_however_often_it_is_seen(account, member, agents):
    reply = chat_turn(account, member, CANT)
    first = reply_inspect(reply_id=reply.pk)
    again = reply_inspect(reply_id=reply.pk)
    assert first == again
    assert Escalation.objects.count() == 1
    assert (first.trigger, first.message_id, first.status, first.phase) == (
        "cannot_resolve",
        reply.pk,
        "ladder",
        "quick_fix",
    )
    assert first.question == CANT


def test_concurrent_inspections_of_one_reply_open_one_escalation(account, member, agents):
    import threading

    from django.db import connections

    reply = chat_turn(account, member, CANT)
    barrier = threading.Barrier(4)
    seen = []

    def inspect():
        try:
            barrier.wait()
            seen.append(reply_inspect(reply_id=reply.pk).pk)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=inspect) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert Escalation.objects.count() == 1
    assert seen == [Escalation.objects.get().pk] * 4


def test_a_plain_answer_is_not_escalated(account, member, agents):
    reply = chat_turn(account, member, "How are incidents assigned?")
    assert reply_inspect(reply_id=reply.pk) is None
    assert not Escalation.objects.exists()


def test_asking_for_a_person_goes_straight_to_the_queue(account, member, agents, operator):
    reply = chat_turn(account, member, "This is urgent, I want to talk to a human please")
    escalation = reply_inspect(reply_id=reply.pk)
    assert (escalation.trigger, escalation.message_id, escalation.phase) == (
        "asked_for_person",
        reply.reply_to_id,
        "human",
    )
    assert escalation.priority == Escalation.Priority.URGENT
    escalation = climb(escalation)
    assert escalation.status == "open"
    assert _phases(escalation) == {"human": "queued"}


def test_asking_for_a_person_while_on_the_ladder_cuts_it_short(account, member, agents, operator):
    escalation = _escalate(account, member, CANT + NO_RESEARCH)
    phase_run(escalation_id=escalation.pk, phase="quick_fix")
    PhaseRun.objects.create(  # the research phase is under way on a worker
        escalation=escalation,
        phase="research",
        attempts=1,
        lease_expires_at=timezone.now() + timedelta(minutes=1),
    )
    reply = chat_turn(account, member, "Can I just talk to a human?", conversation=escalation.conversation)
    assert reply_inspect(reply_id=reply.pk) == escalation
    escalation.refresh_from_db()
    assert (escalation.phase, escalation.priority) == ("human", Escalation.Priority.HIGH)
    assert _phases(escalation) == {"quick_fix": "fell_through", "research": "skipped"}
    phase_run(escalation_id=escalation.pk, phase="research")  # the late research task changes nothing
    escalation = climb(escalation)
    assert escalation.status == "open" and _phases(escalation)["human"] == "queued"
    assert Escalation.objects.count() == 1


def test_a_step_limit_stop_escalates(account, member, agents):
    from agents.models import AgentInstance

    AgentInstance.objects.filter(slug="assistant", account=account).update(step_limit=1)
    reply = chat_turn(account, member, '@assistant: tool knowledge_search {"query": "x"}')
    escalation = reply_inspect(reply_id=reply.pk)
    assert escalation.trigger == "step_limit"


def test_a_thumbs_down_escalates_and_a_thumbs_down_on_a_quick_fix_goes_on_to_research(
    account, member, agents
):
    reply = chat_turn(account, member, "How do I reset the coffee machine?")
    message_feedback_set(message=reply, user=member, feedback="down")
    escalation = feedback_inspect(message_id=reply.pk)
    assert (escalation.trigger, escalation.phase) == ("thumbs_down", "quick_fix")

    _approved_pattern(account, "How do I reset the coffee machine?", "Hold the red button for ten seconds.")
    escalation = climb(escalation)
    assert escalation.resolved_by_phase == "quick_fix"
    answer = escalation.answer_message
    message_feedback_set(message=answer, user=member, feedback="down")
    again = feedback_inspect(message_id=answer.pk)
    assert again.pk != escalation.pk and again.phase == "research"
    assert _phases(again) == {}


def test_only_the_asker_can_rate_and_only_up_or_down(account, member, make_user, agents):
    from django.core.exceptions import ValidationError

    reply = chat_turn(account, member, "hello")
    with pytest.raises(ValidationError):
        message_feedback_set(message=reply, user=member, feedback="sideways")
    with pytest.raises(ValidationError):
        message_feedback_set(message=reply, user=make_user(account), feedback="down")
    reply.refresh_from_db()
    assert reply.feedback == ""


# --- phase 1: quick fix -------------------------------------------------------------------------


def test_phase_1_answers_with_the_closest_approved_pattern(account, member, agents):
    pattern = _approved_pattern(
        account, "The VPN client says my certificate expired when I connect from home.",
        "Open the VPN client, choose Renew certificate, then reconnect.",
    )  # fmt: skip
    escalation = climb(
        _escalate(account, member, "my vpn certificate has expired when connecting from home || " + CANT)
    )
    assert escalation.status == "resolved" and escalation.resolved_by_phase == "quick_fix"
    assert _phases(escalation) == {"quick_fix": "resolved"}
    answer = escalation.answer_message
    assert answer.role == "assistant" and "Renew certificate" in answer.content and answer.sent_by is None
    pattern.refresh_from_db()
    assert pattern.times_used == 1 and pattern.embedding and len(pattern.embedding) == 384
    run = escalation.phase_runs.get()
    assert run.score >= 0.75 and run.duration_ms is not None
    message_feedback_set(message=answer, user=member, feedback="up")
    feedback_inspect(message_id=answer.pk)
    feedback_inspect(message_id=answer.pk)
    pattern.refresh_from_db()
    assert pattern.success_count == 1


def test_phase_1_falls_through_when_no_pattern_is_close_and_ignores_drafts(account, member, agents):
    _approved_pattern(account, "How do I change the colour of the invoice PDF?", "Settings > Branding.")
    LearnedPattern.objects.create(account=account, problem=CANT, fix="draft fix", status="draft")
    escalation = _escalate(account, member, CANT + " || @research: say I cannot resolve this")
    phase_run(escalation_id=escalation.pk, phase="quick_fix")
    escalation.refresh_from_db()
    assert escalation.phase == "research"
    run = escalation.phase_runs.get(phase="quick_fix")
    assert run.outcome == "fell_through" and "not close enough" in run.detail


# --- phase 2: research --------------------------------------------------------------------------


def test_phase_2_uses_a_confident_research_answer(account, member, agents):
    escalation = climb(
        _escalate(account, member, CANT + " || @research: say Restart the VPN gateway. Confidence: 90%")
    )
    assert (escalation.status, escalation.resolved_by_phase) == ("resolved", "research")
    assert _phases(escalation) == {"quick_fix": "fell_through", "research": "resolved"}
    consultation = AgentConsultation.objects.get(escalation=escalation)
    assert (consultation.agent, consultation.confidence, consultation.confidence_source) == (
        agents["research"],
        0.9,
        "stated",
    )
    assert consultation.proposal == "Restart the VPN gateway."
    assert "Restart the VPN gateway." in escalation.answer_message.content
    assert escalation.answer_message.agent == agents["research"]


def test_phase_2_falls_through_below_the_threshold(account, member, agents):
    escalation = _escalate(account, member, CANT + " || @research: say Maybe restart it? Confidence: 40%")
    phase_run(escalation_id=escalation.pk, phase="quick_fix")
    phase_run(escalation_id=escalation.pk, phase="research")
    escalation.refresh_from_db()
    assert escalation.phase == "consultation" and escalation.status == "ladder"
    run = escalation.phase_runs.get(phase="research")
    assert run.outcome == "fell_through" and run.score == 0.4 and "not sure enough" in run.detail


# --- phase 3: consultation -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answers", "required", "resolved"),
    [
        (("Restart the gateway", "restart the gateway.", "Restart the Gateway!"), 2, True),  # 3 of 3
        (("Restart the gateway", "Restart the gateway", "Reinstall the client"), 2, True),  # 2 of 3
        (("Restart the gateway", "Reinstall the client", "Call the vendor"), 2, False),  # 1 of 3
        (("Restart the gateway", "Restart the gateway", "Reinstall the client"), 3, False),  # unanimity asked
    ],
)
def test_phase_3_votes(account, member, agents, operator, answers, required, resolved):
    policy = policy_for_account(account_id=account.pk)
    policy.consultation_required_votes = required
    policy.save()
    script = (
        CANT
        + NO_RESEARCH
        + "".join(
            f" || @{a}: say {text}" for a, text in zip(("alpha", "beta", "gamma"), answers, strict=True)
        )
    )
    escalation = climb(_escalate(account, member, script))
    run = escalation.phase_runs.get(phase="consultation")
    consultations = list(
        AgentConsultation.objects.filter(escalation=escalation, phase="consultation").order_by("pk")
    )
    assert [c.agent.slug for c in consultations] == ["alpha", "beta", "gamma"]
    assert [c.proposal for c in consultations] == list(answers)
    assert all(c.task_run_id and c.started_at and c.finished_at for c in consultations)
    assert escalation.workflow_run.mode == "consensus"
    agreed = sum(1 for c in consultations if c.agreed)
    if resolved:
        assert (escalation.status, escalation.resolved_by_phase, run.outcome) == (
            "resolved",
            "consultation",
            "resolved",
        )
        assert f"{agreed} of 3 agents agree" in escalation.answer_message.content
        assert "Restart the gateway" in escalation.answer_message.content
    else:
        assert (escalation.status, run.outcome) == ("open", "fell_through")
        assert _phases(escalation)["human"] == "queued"


def test_phase_3_with_a_judge_counts_answers_that_mean_the_same(account, member, agents, operator):
    from agents.models import AgentInstance

    judge = AgentInstance.objects.create(
        account=account, template=agents["alpha"].template, slug="judge", name="Judge"
    )
    policy = policy_for_account(account_id=account.pk)
    policy.consultation_judge = judge
    policy.save()
    answers = ("Restart the gateway", "Reboot the gateway box", "Call the vendor")
    script = CANT + NO_RESEARCH + " || @judge: say 1 1 3"
    script += "".join(
        f" || @{a}: say {text}" for a, text in zip(("alpha", "beta", "gamma"), answers, strict=True)
    )
    escalation = climb(_escalate(account, member, script))
    assert (escalation.status, escalation.resolved_by_phase) == ("resolved", "consultation")
    assert escalation.workflow_run.aggregator == judge
    assert "2 of 3 agents agree" in escalation.answer_message.content
    assert "Restart the gateway" in escalation.answer_message.content
    assert "(judge judged)" in escalation.phase_runs.get(phase="consultation").detail
    consulted = AgentConsultation.objects.filter(escalation=escalation, phase="consultation")
    agreed = dict(consulted.values_list("agent__slug", "agreed"))
    assert agreed == {"alpha": True, "beta": True, "gamma": False}


def test_phase_3_agreeing_that_nobody_knows_is_not_an_answer(account, member, agents, operator):
    script = (
        CANT
        + NO_RESEARCH
        + "".join(f" || @{a}: say I cannot resolve this." for a in ("alpha", "beta", "gamma"))
    )
    escalation = climb(_escalate(account, member, script))
    assert escalation.status == "open"
    assert "cannot resolve" in escalation.phase_runs.get(phase="consultation").detail


def test_phase_3_is_skipped_without_three_active_agents(account, member, agents, operator):
    from agents.models import AgentInstance

    AgentInstance.objects.filter(account=account).exclude(slug__in=["assistant", "research"]).update(
        status="suspended"
    )
    escalation = climb(_escalate(account, member, CANT + NO_RESEARCH))
    run = escalation.phase_runs.get(phase="consultation")
    assert run.outcome == "skipped" and "Needs 3 active agents" in run.detail
    assert escalation.status == "open"


# --- phase 4, policy, recovery ---------------------------------------------------------------------


def test_phase_4_queues_it_tells_the_user_and_emails_the_operators(
    account, member, agents, operator, admin_user
):
    operator.email, admin_user.email = "olivia@acme.example", "ada@acme.example"
    operator.save(), admin_user.save()
    script = CANT + NO_RESEARCH + " || @alpha: say A || @beta: say B || @gamma: say C"
    escalation = climb(_escalate(account, member, script))
    assert escalation.status == "open" and escalation.queued_at is not None
    assert escalation.first_response_due_at == escalation.queued_at + timedelta(minutes=30)
    notice = Message.objects.filter(conversation=escalation.conversation).order_by("-pk").first()
    assert "passed your request to a person" in notice.content
    from escalations.notifications import escalation_email_send

    assert escalation_email_send(escalation_id=escalation.pk) == "sent"
    assert escalation_email_send(escalation_id=escalation.pk) == "sent"  # once
    assert len(mail.outbox) == 1
    email = mail.outbox[0]
    assert sorted(email.to) == ["ada@acme.example", "olivia@acme.example"]
    assert f"/escalations/{escalation.pk}/" in email.body and CANT in email.body
    escalation.refresh_from_db()
    assert escalation.email_status == "sent" and escalation.emailed_at is not None


def test_phases_turned_off_in_the_policy_are_skipped_and_recorded(account, member, agents, operator):
    policy = policy_for_account(account_id=account.pk)
    policy.research_enabled = policy.consultation_enabled = False
    policy.save()
    escalation = climb(_escalate(account, member, CANT))
    assert _phases(escalation) == {
        "quick_fix": "fell_through", "research": "skipped", "consultation": "skipped", "human": "queued",
    }  # fmt: skip


def test_a_redelivered_phase_task_does_nothing_and_a_dead_workers_phase_resumes(account, member, agents):
    escalation = _escalate(
        account, member, CANT + " || @research: say Restart the VPN gateway. Confidence: 90%"
    )
    phase_run(escalation_id=escalation.pk, phase="quick_fix")
    # A worker took the research phase and died mid-call: its lease is still live, so a
    # redelivery leaves it alone...
    run = PhaseRun.objects.create(
        escalation=escalation,
        phase="research",
        attempts=1,
        lease_expires_at=timezone.now() + timedelta(minutes=1),
    )
    phase_run(escalation_id=escalation.pk, phase="research")
    run.refresh_from_db()
    assert run.outcome == "running" and run.attempts == 1
    # ...until the lease passes; then recovery queues it again and it runs to the end.
    PhaseRun.objects.filter(pk=run.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    assert durable.recover("escalation_phase") == [escalation.pk]
    phase_run(escalation_id=escalation.pk, phase="research")
    run.refresh_from_db()
    escalation.refresh_from_db()
    assert (run.outcome, run.attempts, escalation.resolved_by_phase) == ("resolved", 2, "research")
    # A late duplicate of a phase already done changes nothing.
    phase_run(escalation_id=escalation.pk, phase="research")
    consultation_collect(escalation_id=escalation.pk)
    assert Message.objects.filter(conversation=escalation.conversation, agent=agents["research"]).count() == 1
