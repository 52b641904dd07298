"""The delegate tool: an agent in a chat hands sub-tasks to other agents and goes on
with their results, recorded as a run linked to the conversation."""

from __future__ import annotations

import json

import pytest

from agents.catalog.install import tools_install
from conversations.models import GuardrailEvent, Message, ToolCall, Turn
from conversations.replies import reply_generate
from conversations.services import conversation_start, message_send
from orchestration.models import WorkflowRun

pytestmark = pytest.mark.django_db(transaction=True)

DELEGATE = "tool delegate " + json.dumps(
    {"tasks": [{"agent": "beta", "input": "vendor A"}, {"agent": "gamma", "input": "vendor B"}]}
)


def _turn(account, member, agent, script: str) -> Message:
    conversation = conversation_start(account=account, user=member)
    conversation.agent = agent
    conversation.save()
    _, reply = message_send(conversation=conversation, user=member, content=script)
    reply_generate(message_id=reply.pk)
    reply.refresh_from_db()
    return reply


@pytest.fixture
def lead(trio):
    alpha = trio[0]
    alpha.tools.set([tools_install()["delegate"]])
    return alpha


def test_an_agent_delegates_a_parallel_batch_and_uses_the_results(account, member, lead):
    script = (
        f"@alpha: {DELEGATE}; say context={{context}}\n"
        "@beta: wait 0.3 Acme is solid\n"
        "@gamma: wait 0.3 Globex is cheaper"
    )
    reply = _turn(account, member, lead, script)
    assert reply.status == "complete", reply.error
    # alpha's second step saw the tool's result
    assert reply.content == "context=system,user,assistant,tool"

    run = WorkflowRun.objects.get()
    assert (run.mode, run.status, run.conversation_id) == ("delegate", "completed", reply.conversation_id)
    assert run.started_by == member
    beta, gamma = run.tasks.order_by("position")
    assert (beta.agent.slug, beta.result, gamma.result) == ("beta", "Acme is solid", "Globex is cheaper")
    # in parallel: each waited 0.3 s a word, and they overlapped
    assert beta.started_at < gamma.finished_at and gamma.started_at < beta.finished_at

    call = ToolCall.objects.get(tool_slug="delegate")
    assert call.status == "completed"
    assert [r["result"] for r in call.result["results"]] == ["Acme is solid", "Globex is cheaper"]
    transcript = Turn.objects.get(reply=reply).state["transcript"]
    tool_message = next(m for m in transcript if m["role"] == "tool")
    assert "Globex is cheaper" in json.loads(tool_message["content"])["results"][1]["result"]


def test_the_chat_links_a_delegated_batch_to_its_run(account, member, member_client, lead):
    script = f"@alpha: {DELEGATE}; say done\n@beta: say Acme is solid\n@gamma: say Globex is cheaper"
    reply = _turn(account, member, lead, script)
    run = WorkflowRun.objects.get()
    page = member_client.get(f"/chat/{reply.conversation_id}/")
    assert page.status_code == 200
    assert f'href="/runs/{run.pk}/"' in page.content.decode()


def test_delegating_to_an_unavailable_agent_fails_that_task_not_the_turn(account, member, lead, trio):
    trio[2].status = "suspended"
    trio[2].save()
    reply = _turn(account, member, lead, f"@alpha: {DELEGATE}; say done\n@beta: say fine")
    assert reply.status == "complete" and reply.content == "done"
    results = ToolCall.objects.get(tool_slug="delegate").result["results"]
    assert results[1] == {
        "agent": "gamma", "status": "failed", "result": "",
        "error": "agent gamma is not available in this account",
    }  # fmt: skip


def test_an_agent_without_the_tool_cannot_delegate(account, member, trio):
    reply = _turn(account, member, trio[0], f"@alpha: {DELEGATE}; say refused")
    assert reply.content == "refused"
    assert ToolCall.objects.get().status == "refused"
    assert GuardrailEvent.objects.filter(kind="tool_refused").exists()
    assert not WorkflowRun.objects.exists()


def test_a_retried_tool_call_reuses_its_run_and_reruns_only_unfinished_tasks(account, member, lead):
    """What a turn resumed after a crash does: the same idempotency key finds the run."""
    from agents.tools.registry import ToolContext
    from orchestration.delegation import delegate_batch

    conversation = conversation_start(account=account, user=member)
    Message.objects.create(conversation=conversation, role="user", content="@beta: say B\n@gamma: say G")
    ctx = ToolContext(
        account_id=account.pk, conversation_id=conversation.pk, user_id=member.pk, idempotency_key="k1"
    )
    tasks = [{"agent": "beta", "input": "one"}, {"agent": "gamma", "input": "two"}]
    first = delegate_batch(ctx=ctx, tasks=tasks)
    run = WorkflowRun.objects.get(pk=first["run_id"])
    # As if the worker died after beta finished and while gamma was running:
    run.tasks.filter(position=1).update(status="in_progress", result="")
    WorkflowRun.objects.filter(pk=run.pk).update(status="in_progress", finished_at=None)
    second = delegate_batch(ctx=ctx, tasks=tasks)
    assert second["run_id"] == run.pk
    assert WorkflowRun.objects.count() == 1
    beta, gamma = run.tasks.order_by("position")
    assert (beta.attempts, gamma.attempts) == (1, 2)
    assert [r["result"] for r in second["results"]] == ["B", "G"]
