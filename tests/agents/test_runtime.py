"""Every guard rail of the agent graph, on the scripted model, in-process.

Agents here have no routing examples, so the conversation's agent answers first;
the scripted model follows ``@agent: action; action`` lines in the user message.
"""

import pytest
from django.core.exceptions import ValidationError

from agents.models import AgentInstance, AgentTemplate, Ticket, Tool
from agents.runtime.guards import check_handoff
from agents.tools.registry import handler_names
from conversations.models import Approval, GuardrailEvent, Handoff, Message, ToolCall, ToolGrant, Turn
from conversations.replies import reply_generate
from conversations.services import (
    ApprovalAlreadyDecided,
    ReplyInFlight,
    approval_decide,
    conversation_start,
    message_send,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def tools():
    from agents.catalog.install import tools_install

    return tools_install()


@pytest.fixture
def make_agent(account, tools):
    template = AgentTemplate.objects.create(slug="test-kind", name="Test kind")

    def make(slug: str, *, tool_slugs=(), step_limit: int = 10) -> AgentInstance:
        agent = AgentInstance.objects.create(
            account=account, template=template, slug=slug, name=slug.title(), step_limit=step_limit,
            system_prompt=f"You are {slug}.",
        )  # fmt: skip
        agent.tools.set([tools[t] for t in tool_slugs])
        return agent

    return make


@pytest.fixture
def trio(make_agent):
    a, b, c = make_agent("alpha"), make_agent("beta"), make_agent("gamma")
    for agent in (a, b, c):
        agent.handoff_targets.set([x for x in (a, b, c) if x != agent])
    return a, b, c


def _turn(account, member, agent, script: str) -> Message:
    conversation = conversation_start(account=account, user=member)
    conversation.agent = agent
    conversation.save()
    _, reply = message_send(conversation=conversation, user=member, content=script)
    reply_generate(message_id=reply.pk)
    reply.refresh_from_db()
    return reply


def test_a_handoff_passes_the_conversation_context_and_is_recorded(account, member, trio):
    alpha, beta, _ = trio
    reply = _turn(
        account, member, alpha, "@alpha: transfer beta needs a design || @beta: say context={context}"
    )
    assert reply.status == "complete"
    # beta saw its system prompt, the user's message, alpha's transfer call and its result
    assert reply.content == "context=system,user,assistant,tool"
    assert reply.agent == beta
    handoff = Handoff.objects.get()
    assert (handoff.from_agent, handoff.to_agent, handoff.reason, handoff.via) == (
        alpha,
        beta,
        "needs a design",
        "tool",
    )
    assert reply.conversation.agent == beta  # the next message starts with beta


def test_ping_pong_handoffs_are_stopped_gracefully(account, member, trio):
    alpha, _, _ = trio
    reply = _turn(
        account, member, alpha, "@alpha: transfer beta over to you || @beta: transfer alpha back to you"
    )
    assert reply.status == "complete"
    assert "kept handing this request back and forth" in reply.content
    assert Handoff.objects.count() == 1
    event = GuardrailEvent.objects.get()
    assert event.kind == "ping_pong" and "alpha -> beta -> alpha" in event.detail


def test_a_repeated_edge_within_a_turn_is_stopped(account, member, trio):
    alpha, _, _ = trio
    reply = _turn(
        account,
        member,
        alpha,
        "@alpha: transfer beta go || @beta: transfer gamma go || @gamma: transfer alpha go",
    )
    assert reply.status == "complete"
    assert "kept handing" in reply.content
    assert GuardrailEvent.objects.get().kind == "repeated_edge"
    assert Handoff.objects.count() == 6  # a->b, b->c, c->a twice; the third a->b is refused


def test_cycle_detection_rules():
    assert check_handoff([("a", "b")], ("b", "a")).kind == "ping_pong"
    assert check_handoff([("a", "b"), ("b", "c")], ("c", "a")) is None
    edges = [("a", "b"), ("b", "c"), ("c", "a"), ("a", "b"), ("b", "c"), ("c", "a")]
    assert check_handoff(edges, ("a", "b")).kind == "repeated_edge"
    assert check_handoff(edges[:3], ("a", "b"), repeat_threshold=2).kind == "repeated_edge"


def test_the_step_limit_ends_the_turn_with_a_controlled_answer(account, member, make_agent):
    agent = make_agent("looper", tool_slugs=["knowledge_search"], step_limit=3)
    reply = _turn(account, member, agent, '@looper: tool knowledge_search {"query": "sso"}')
    assert reply.status == "complete"
    assert "as many steps as I'm allowed on this request (3)" in reply.content
    assert ToolCall.objects.filter(status="completed").count() == 3
    assert GuardrailEvent.objects.get().kind == "step_limit"


def test_a_tool_outside_the_allowlist_is_refused_recorded_and_never_run(account, member, make_agent):
    agent = make_agent("advisor", tool_slugs=["knowledge_search"])
    reply = _turn(account, member, agent, '@advisor: tool ticket_create {"title": "sneaky"}; say I could not')
    assert reply.status == "complete" and reply.content == "I could not"
    call = ToolCall.objects.get()
    assert (call.tool_slug, call.status) == ("ticket_create", "refused")
    assert GuardrailEvent.objects.get().kind == "tool_refused"
    assert not Ticket.objects.exists()


def test_a_handoff_to_an_agent_outside_the_targets_is_refused(account, member, make_agent):
    loner = make_agent("loner")
    make_agent("other")  # exists in the account, but is not one of loner's targets
    reply = _turn(account, member, loner, "@loner: transfer other please; say staying")
    assert reply.content == "staying" and reply.agent == loner
    assert GuardrailEvent.objects.get().kind == "handoff_refused"
    assert not Handoff.objects.exists()


GATED = '@fixer: tool ticket_create {"title": "Printer on fire", "priority": "high"}; say filed it'


def test_a_gated_call_waits_for_approval_then_runs_exactly_once(account, member, make_agent):
    agent = make_agent("fixer", tool_slugs=["ticket_create"])
    reply = _turn(account, member, agent, GATED)
    assert reply.status == "awaiting_approval"
    approval = Approval.objects.get()
    assert approval.tool_call.arguments == {"title": "Printer on fire", "priority": "high"}
    assert not Ticket.objects.exists()

    approval_decide(approval=approval, user=member, approve=True)
    reply.refresh_from_db()
    assert reply.status == "pending"
    reply_generate(message_id=reply.pk)
    reply_generate(message_id=reply.pk)  # a redelivered task changes nothing
    reply.refresh_from_db()
    assert reply.status == "complete" and reply.content == "filed it"
    assert Ticket.objects.get().title == "Printer on fire"
    approval.refresh_from_db()
    assert approval.decided_by == member and approval.decided_at is not None
    assert ToolCall.objects.get().status == "completed"


def test_a_denied_call_never_runs(account, member, make_agent):
    agent = make_agent("fixer", tool_slugs=["ticket_create"])
    reply = _turn(account, member, agent, GATED)
    approval_decide(approval=Approval.objects.get(), user=member, approve=False)
    reply_generate(message_id=reply.pk)
    reply.refresh_from_db()
    assert reply.status == "complete"
    assert not Ticket.objects.exists()
    assert ToolCall.objects.get().status == "denied"
    assert "denied" in Turn.objects.get().state["transcript"][-1]["content"]


def test_an_approval_cannot_be_replayed(account, member, make_agent):
    agent = make_agent("fixer", tool_slugs=["ticket_create"])
    _turn(account, member, agent, GATED)
    approval = Approval.objects.get()
    approval_decide(approval=approval, user=member, approve=True)
    with pytest.raises(ApprovalAlreadyDecided):
        approval_decide(approval=approval, user=member, approve=True)
    with pytest.raises(ApprovalAlreadyDecided):
        approval_decide(approval=approval, user=member, approve=False)


def test_typing_approve_does_not_approve(account, member, make_agent):
    agent = make_agent("fixer", tool_slugs=["ticket_create"])
    reply = _turn(account, member, agent, GATED)
    with pytest.raises(ReplyInFlight, match="Approve or deny it first"):
        message_send(conversation=reply.conversation, user=member, content="I approve. Approved: yes")
    assert Approval.objects.get().decision == "pending"
    assert not Ticket.objects.exists()


def test_an_approval_only_approves_its_own_call(account, member, make_agent):
    agent = make_agent("fixer", tool_slugs=["ticket_create"])
    first = _turn(account, member, agent, GATED)
    second = _turn(account, member, agent, GATED)
    first_approval = Approval.objects.get(conversation=first.conversation)
    approval_decide(approval=first_approval, user=member, approve=True)
    reply_generate(message_id=second.pk)  # the other conversation's call stays gated
    second.refresh_from_db()
    assert second.status == "awaiting_approval"
    assert Approval.objects.get(conversation=second.conversation).decision == "pending"
    assert Ticket.objects.count() == 0


def test_allow_for_this_conversation_skips_later_cards_here_only(account, member, make_agent):
    agent = make_agent("fixer", tool_slugs=["ticket_create"])
    reply = _turn(account, member, agent, GATED)
    approval_decide(approval=Approval.objects.get(), user=member, approve=True, allow_for_conversation=True)
    reply_generate(message_id=reply.pk)
    assert ToolGrant.objects.filter(conversation=reply.conversation, tool_slug="ticket_create").exists()
    _, again = message_send(conversation=reply.conversation, user=member, content=GATED)
    reply_generate(message_id=again.pk)
    again.refresh_from_db()
    assert again.status == "complete"
    assert Ticket.objects.count() == 2
    elsewhere = _turn(account, member, agent, GATED)
    assert elsewhere.status == "awaiting_approval"


def test_a_suspended_agent_hands_its_conversations_to_the_default_agent(account, member, make_agent):
    agent = make_agent("sleepy")
    agent.status = "suspended"
    agent.save()
    reply = _turn(account, member, agent, "hello")
    assert reply.status == "complete"
    assert reply.agent.slug == "assistant"


def test_a_handoff_to_a_suspended_agent_is_refused(account, member, trio):
    alpha, beta, _ = trio
    beta.status = "suspended"
    beta.save()
    reply = _turn(account, member, alpha, "@alpha: transfer beta over; say kept it")
    assert reply.content == "kept it" and reply.agent == alpha
    assert GuardrailEvent.objects.get().kind == "handoff_refused"


def test_template_config_is_validated_with_field_errors(account):
    template = AgentTemplate.objects.create(
        slug="strict",
        name="Strict",
        config_schema={
            "type": "object",
            "properties": {"max_results": {"type": "integer", "maximum": 50}},
            "additionalProperties": False,
        },
    )
    agent = AgentInstance(
        account=account, template=template, slug="s", name="S", config={"max_results": 500, "x": 1}
    )
    with pytest.raises(ValidationError) as error:
        agent.full_clean()
    messages = error.value.message_dict["config"]
    assert any("max_results: 500 is greater than the maximum of 50" in m for m in messages)
    assert any("'x' was unexpected" in m for m in messages)


def test_a_tool_must_name_registered_code(tools):
    tool = Tool(slug="nope", name="Nope", description="d", handler="does_not_exist")
    with pytest.raises(ValidationError) as error:
        tool.full_clean()
    assert "handler" in error.value.message_dict
    assert "ticket_create" in handler_names()


def test_stopping_a_reply_that_waits_for_approval_cancels_it_and_its_card(account, member, make_agent):
    from conversations.services import reply_cancel

    agent = make_agent("fixer", tool_slugs=["ticket_create"])
    reply = _turn(account, member, agent, GATED)
    assert reply_cancel(reply=reply).status == "cancelled"
    with pytest.raises(ApprovalAlreadyDecided, match="no longer waiting"):
        approval_decide(approval=Approval.objects.get(), user=member, approve=True)
    assert not Ticket.objects.exists()
