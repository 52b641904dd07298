"""Escalation fixtures: an account with a research agent and three consultants, on the
scripted model, and helpers that climb the ladder in-process."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import Membership
from agents.models import AgentInstance, AgentTemplate
from conversations.models import Message
from conversations.replies import reply_generate
from conversations.services import conversation_start, message_send
from escalations.consultation import consultation_collect
from escalations.ladder import phase_run
from escalations.models import Escalation
from escalations.services import policy_for_account


@pytest.fixture
def operator(make_user, account):
    return make_user(account, role=Membership.Role.OPERATOR, username="olivia")


@pytest.fixture
def second_operator(make_user, account):
    return make_user(account, role=Membership.Role.OPERATOR, username="oscar")


@pytest.fixture
def admin_user(make_user, account):
    return make_user(account, role=Membership.Role.ADMIN, username="ada")


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def operator_client(operator) -> Client:
    return client_for(operator)


@pytest.fixture
def agents(account):
    """research (a research-kind agent) and alpha, beta, gamma, the consultants."""
    research_kind = AgentTemplate.objects.create(
        slug="researcher", name="Researcher", workflow_kind=AgentTemplate.WorkflowKind.RESEARCH
    )
    advisory = AgentTemplate.objects.create(slug="advisor", name="Advisor")
    made = {
        "research": AgentInstance.objects.create(
            account=account, template=research_kind, slug="research", name="Research"
        )
    }
    for slug in ("alpha", "beta", "gamma"):
        made[slug] = AgentInstance.objects.create(
            account=account, template=advisory, slug=slug, name=slug.title()
        )
    policy = policy_for_account(account_id=account.pk)
    policy.consultation_agents.set([made["alpha"], made["beta"], made["gamma"]])
    return made


def chat_turn(account, user, text: str, conversation=None) -> Message:
    """The user sends ``text`` and the agent graph answers it, here and now."""
    conversation = conversation or conversation_start(account=account, user=user)
    _, reply = message_send(conversation=conversation, user=user, content=text)
    reply_generate(message_id=reply.pk)
    reply.refresh_from_db()
    return reply


def climb(escalation: Escalation, *, max_steps: int = 6) -> Escalation:
    """Run the ladder's phases in this process until the escalation leaves the ladder
    (the consultation's consensus run runs inline, on threads, as the orchestration app does)."""
    from orchestration.runner import run_execute_inline

    for _ in range(max_steps):
        escalation.refresh_from_db()
        if escalation.status != Escalation.Status.LADDER:
            return escalation
        phase_run(escalation_id=escalation.pk, phase=escalation.phase)
        escalation.refresh_from_db()
        if escalation.phase == "consultation" and escalation.workflow_run_id:
            run_execute_inline(run_id=escalation.workflow_run_id)
            consultation_collect(escalation_id=escalation.pk)
    escalation.refresh_from_db()
    return escalation
