"""A turn step's rows and its checkpoint commit together (conversations/turns/graph.py).

A worker that dies inside a step's commit leaves nothing of that step, so the attempt that
resumes from the previous checkpoint writes the step's rows once.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from agents.models import AgentInstance, AgentTemplate
from conversations.models import Handoff, Message, Turn
from conversations.replies import reply_generate
from conversations.services import conversation_start, message_send

pytestmark = pytest.mark.django_db(transaction=True)

SCRIPT = "@alpha: transfer beta beta knows || @beta: transfer gamma gamma knows || @gamma: say done"


class WorkerKilled(BaseException):
    """Not an Exception: like a killed process, nothing in the reply engine handles it."""


@pytest.fixture
def trio(account):
    template = AgentTemplate.objects.create(slug="step-kind", name="Step kind")
    agents = [
        AgentInstance.objects.create(
            account=account, template=template, slug=slug, name=slug.title(), system_prompt=f"You are {slug}."
        )
        for slug in ("alpha", "beta", "gamma")
    ]
    for agent in agents:
        agent.handoff_targets.set([other for other in agents if other != agent])
    return agents


def test_a_step_killed_inside_its_commit_leaves_no_handoff_and_its_redo_writes_it_once(
    account, member, trio, monkeypatch
):
    alpha, beta, gamma = trio
    conversation = conversation_start(account=account, user=member)
    conversation.agent = alpha
    conversation.save()
    _, reply = message_send(conversation=conversation, user=member, content=SCRIPT)

    original_save = Turn.save
    kills = []

    def save(self, *args, **kwargs):
        # The second hand-off's checkpoint: its Handoff row is already written in the transaction.
        if kwargs.get("update_fields") and len(self.state.get("edges", [])) == 2 and not kills:
            kills.append(self.pk)
            raise WorkerKilled
        return original_save(self, *args, **kwargs)

    monkeypatch.setattr(Turn, "save", save)
    with pytest.raises(WorkerKilled):
        reply_generate(message_id=reply.pk)
    assert kills
    # Only the first step's hand-off was committed; the reply is still the dead attempt's.
    assert list(Handoff.objects.values_list("from_agent__slug", "to_agent__slug")) == [("alpha", "beta")]
    reply.refresh_from_db()
    assert reply.status == Message.Status.STREAMING
    assert reply.agent == beta

    Message.objects.filter(pk=reply.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    reply_generate(message_id=reply.pk)  # the recovery scan's attempt

    reply.refresh_from_db()
    assert reply.status == Message.Status.COMPLETE
    assert reply.content == "done"
    assert reply.agent == gamma
    assert reply.interruptions == 1
    assert sorted(Handoff.objects.values_list("from_agent__slug", "to_agent__slug")) == [
        ("alpha", "beta"),
        ("beta", "gamma"),
    ]
    conversation.refresh_from_db()
    assert conversation.agent == gamma
