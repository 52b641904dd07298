"""The demo path on the offline model (no scripts): a request the knowledge base cannot
answer climbs every phase to the queue, and the demo's learned pattern answers its own
problem at Phase 1."""

import pytest

from accounts.models import Membership
from demo.seed import demo_seed
from escalations.triggers import reply_inspect
from tests.escalations.conftest import chat_turn, climb

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def demo(settings, make_user):
    settings.LLM_MODEL = "offline/knowledge-base"
    account = demo_seed().account
    return account, make_user(account, role=Membership.Role.MEMBER)


def test_an_unanswerable_request_climbs_to_a_person(demo):
    account, user = demo
    reply = chat_turn(account, user, "The printer on floor 3 jams every morning, how do I fix it?")
    assert "won't guess" in reply.content
    escalation = climb(reply_inspect(reply_id=reply.pk))
    assert escalation.status == "open"
    assert dict(escalation.phase_runs.values_list("phase", "outcome")) == {
        "quick_fix": "fell_through",
        "research": "fell_through",
        "consultation": "fell_through",
        "human": "queued",
    }
    assert escalation.consultations.filter(phase="consultation").count() == 3


def test_the_demo_pattern_answers_a_similar_request_at_phase_1(demo):
    account, user = demo
    reply = chat_turn(account, user, "Since the update the mobile app logs me out every few minutes")
    escalation = climb(reply_inspect(reply_id=reply.pk))
    assert (escalation.status, escalation.resolved_by_phase) == ("resolved", "quick_fix")
    assert "4.2.1" in escalation.answer_message.content
