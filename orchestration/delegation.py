"""The ``delegate`` tool: an agent in a conversation hands sub-tasks to other agents of
the account and continues with their results.

The batch runs in this process, inside the tool call (``run_execute_inline``), and is
recorded as a WorkflowRun linked to the conversation, keyed by the tool call's
idempotency key. The turn that called the tool already runs on a Celery worker thread;
blocking it on other Celery tasks could starve the pool, and pausing the turn until
``run_finished`` would need a second resume path in the agent runtime. In-process, the
turn's own guarantees carry over: the call counts as one of the agent's steps, is
refused at dispatch unless ``delegate`` is on the agent's allowlist, and a turn resumed
after a crash calls it again, which finds the same run and runs only the unfinished tasks.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError

from accounts.models import Account
from agents.tools.builtin import ToolFailed
from agents.tools.registry import Effects, ToolContext, register
from conversations.models import Conversation, Message
from orchestration.models import WorkflowRun
from orchestration.runner import run_execute_inline
from orchestration.services import run_create

MAX_DELEGATED_TASKS = 5


def _request_text(conversation: Conversation | None) -> str:
    """The user's latest message: the context every delegated agent is given."""
    if conversation is None:
        return ""
    message = conversation.messages.filter(role=Message.Role.USER).order_by("-created_at", "-id").first()
    return message.content if message else ""


def delegate_batch(*, ctx: ToolContext, tasks: list[dict]) -> dict:
    """Run the tasks in parallel and return each agent's result or error."""
    account = Account.objects.get(pk=ctx.account_id)
    conversation = Conversation.objects.filter(pk=ctx.conversation_id, account=account).first()
    key = f"delegate:{ctx.idempotency_key}"
    run = WorkflowRun.objects.filter(account=account, idempotency_key=key).first()
    if run is None:
        if len(tasks) > MAX_DELEGATED_TASKS:
            raise ToolFailed(f"delegate at most {MAX_DELEGATED_TASKS} tasks at once")
        specs = [
            {
                "agent": t.get("agent") or None,
                "capability": t.get("capability") or None,
                "description": "",
                "input": t.get("input", ""),
            }
            for t in tasks
        ]
        try:
            run = run_create(
                account=account,
                mode=WorkflowRun.Mode.DELEGATE,
                tasks=specs,
                conversation=conversation,
                started_by=conversation.user if conversation else None,
                request=_request_text(conversation),
                idempotency_key=key,
                allowed_modes=(WorkflowRun.Mode.DELEGATE,),
            )
        except ValidationError as error:
            messages = [f"{field}: {'; '.join(m)}" for field, m in error.message_dict.items()]
            raise ToolFailed("invalid delegation: " + " ".join(messages)) from None
    run = run_execute_inline(run_id=run.pk)
    return {
        "run_id": run.pk,
        "status": run.status,
        "results": [
            {"agent": t.agent_slug or t.capability, "status": t.status, "result": t.result, "error": t.error}
            for t in run.tasks.order_by("position")
        ],
    }


# Looks its run up by the call's idempotency key first, so an interrupted call runs again safely.
@register("delegate", effects=Effects.IDEMPOTENT)
def delegate(ctx: ToolContext, *, tasks: list[dict]) -> dict:
    """The ``delegate`` tool: registered here, so the tool catalog never imports this app."""
    return delegate_batch(ctx=ctx, tasks=tasks)
