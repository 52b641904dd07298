"""Guard-rail stops escalate; a denied action does not (unless the user asks for a person); shadow
conversations never do."""

import pytest

from agents.catalog.install import tools_install
from conversations.models import Approval, Conversation, Message
from conversations.replies import reply_generate
from conversations.services import approval_decide, conversation_start, message_send
from escalations.models import Escalation
from escalations.triggers import reply_inspect
from tests.escalations.conftest import chat_turn

pytestmark = pytest.mark.django_db(transaction=True)


def _turn_with(account, member, agent, script: str) -> Message:
    conversation = conversation_start(account=account, user=member)
    Conversation.objects.filter(pk=conversation.pk).update(agent=agent, routed=True)
    conversation.refresh_from_db()
    _, reply = message_send(conversation=conversation, user=member, content=script)
    reply_generate(message_id=reply.pk)
    reply.refresh_from_db()
    return reply


def test_a_denied_action_is_answered_in_the_users_terms_and_does_not_escalate(account, member, agents):
    fixer = agents["alpha"]
    fixer.tools.set([tools_install()["ticket_create"]])
    script = '@alpha: tool ticket_create {"title": "Printer"}; say I could not open the ticket.'
    reply = _turn_with(account, member, fixer, script)
    assert reply.status == "awaiting_approval"
    approval_decide(approval=Approval.objects.get(), user=member, approve=False)
    reply_generate(message_id=reply.pk)
    reply.refresh_from_db()
    assert reply.content == "OK, I won't do that. Anything else?"
    assert "Do not retry" not in reply.content and "passed your request" not in reply.content
    assert reply_inspect(reply_id=reply.pk) is None
    assert not Escalation.objects.exists()


def test_a_denied_action_with_a_request_for_a_person_still_escalates(account, member, agents):
    fixer = agents["alpha"]
    fixer.tools.set([tools_install()["ticket_create"]])
    script = '@alpha: tool ticket_create {"title": "Printer"} || I want to talk to a person'
    reply = _turn_with(account, member, fixer, script)
    approval_decide(approval=Approval.objects.get(), user=member, approve=False)
    reply_generate(message_id=reply.pk)
    escalation = reply_inspect(reply_id=reply.pk)
    assert escalation is not None and escalation.trigger == "asked_for_person"


def test_a_ping_pong_stop_escalates(account, member, agents):
    alpha, beta = agents["alpha"], agents["beta"]
    alpha.handoff_targets.set([beta])
    beta.handoff_targets.set([alpha])
    reply = _turn_with(
        account, member, alpha, "@alpha: transfer beta over to you || @beta: transfer alpha back"
    )
    escalation = reply_inspect(reply_id=reply.pk)
    assert escalation.trigger == "handoff_loop" and "passing the request back" in escalation.reason


@pytest.mark.parametrize("purpose", [Conversation.Purpose.SHADOW, Conversation.Purpose.EVALUATION])
def test_a_hidden_run_is_never_escalated(account, member, agents, purpose):
    reply = chat_turn(account, member, "@assistant: say I don't know.")
    Conversation.objects.filter(pk=reply.conversation_id).update(purpose=purpose)
    assert reply_inspect(reply_id=reply.pk) is None
    assert not Escalation.objects.exists()
