"""The one recovery entry point: every kind of durable work registered by the apps, and one
call that re-sends an orphan of each (a reply, a run's task, a ladder phase) to the end."""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.utils import timezone

import durable
from agents.models import AgentInstance, AgentTemplate
from config.celery import app
from conversations.models import Message
from conversations.services import conversation_start, message_send
from escalations.models import Escalation, PhaseRun
from orchestration.models import TaskRun, WorkflowRun
from orchestration.services import run_create

pytestmark = pytest.mark.django_db(transaction=True)


@contextmanager
def eager_celery() -> Iterator[None]:
    """Re-sent tasks run in this process as they are sent, so each orphan is seen to finish.
    Entered only once the orphans exist: the first attempt must not run to the end here."""
    app.conf.task_always_eager = True
    try:
        yield
    finally:
        app.conf.task_always_eager = False


def _expired() -> object:
    return timezone.now() - timedelta(seconds=1)


def _orphaned_reply(account, member) -> Message:
    conversation = conversation_start(account=account, user=member)
    _, reply = message_send(conversation=conversation, user=member, content="count=3")
    # Its worker died mid-stream: the lease it was renewing has passed.
    Message.objects.filter(pk=reply.pk).update(
        status=Message.Status.STREAMING, attempts=1, content="w1 ", lease_expires_at=_expired()
    )
    return reply


def _orphaned_task(account) -> TaskRun:
    template, _ = AgentTemplate.objects.get_or_create(slug="worker", version="1", defaults={"name": "Worker"})
    AgentInstance.objects.create(account=account, template=template, slug="alpha", name="Alpha")
    run = run_create(
        account=account,
        mode="parallel",
        tasks=[{"agent": "alpha", "input": "@alpha: say recovered"}],
    )
    WorkflowRun.objects.filter(pk=run.pk).update(status="in_progress", started_at=timezone.now())
    task = run.tasks.get()
    TaskRun.objects.filter(pk=task.pk).update(
        status="in_progress", attempts=1, enqueued_at=timezone.now(), lease_expires_at=_expired()
    )
    return task


def _orphaned_phase(account, member) -> Escalation:
    conversation = conversation_start(account=account, user=member)
    question = Message.objects.create(conversation=conversation, role="user", content="A person, please")
    escalation = Escalation.objects.create(
        account=account,
        conversation=conversation,
        message=question,
        trigger="asked_for_person",
        question=question.content,
        status=Escalation.Status.LADDER,
        phase="human",
    )
    PhaseRun.objects.create(escalation=escalation, phase="human", attempts=1, lease_expires_at=_expired())
    return escalation


def test_every_app_registers_its_kinds_of_durable_work():
    assert set(durable.kinds()) >= {"reply", "run_task", "run", "escalation_phase", "consultation"}


def test_one_call_recovers_an_orphan_of_each_kind(account, member):
    reply = _orphaned_reply(account, member)
    task = _orphaned_task(account)
    escalation = _orphaned_phase(account, member)

    with eager_celery():
        recovered = durable.recover_all()

    assert recovered["reply"] == [reply.pk]
    assert recovered["run_task"] == [task.pk]
    assert recovered["escalation_phase"] == [escalation.pk]
    reply.refresh_from_db()
    assert (reply.status, reply.content, reply.attempts) == ("complete", "w1 w2 w3", 2)
    task.refresh_from_db()
    assert (task.status, task.result, task.attempts) == ("completed", "recovered", 2)
    assert WorkflowRun.objects.get(pk=task.run_id).status == "completed"
    escalation.refresh_from_db()
    run = PhaseRun.objects.get(escalation=escalation, phase="human")
    assert (escalation.status, run.outcome, run.attempts, run.lease_expires_at) == ("open", "queued", 2, None)
    # Nothing is left to recover, and a second scan re-sends nothing.
    assert not any(durable.recover_all().values())


def test_work_under_a_live_lease_is_left_alone(account, member):
    reply = _orphaned_reply(account, member)
    task = _orphaned_task(account)
    escalation = _orphaned_phase(account, member)
    live = timezone.now() + timedelta(minutes=1)
    Message.objects.filter(pk=reply.pk).update(lease_expires_at=live)
    TaskRun.objects.filter(pk=task.pk).update(lease_expires_at=live)
    PhaseRun.objects.filter(escalation=escalation).update(lease_expires_at=live)

    assert not any(durable.recover_all().values())


def test_a_kind_that_fails_does_not_hold_up_the_others(account, member):
    reply = _orphaned_reply(account, member)

    def broken() -> list[int]:
        raise RuntimeError("this kind's table is unreachable")

    durable.register("broken", find=broken, resend=lambda pk: True)
    try:
        with eager_celery():
            recovered = durable.recover_all()
    finally:
        durable.registry._KINDS.pop("broken")
    assert recovered["broken"] == [] and recovered["reply"] == [reply.pk]
    reply.refresh_from_db()
    assert reply.status == "complete"
