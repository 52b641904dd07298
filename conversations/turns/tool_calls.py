"""The tool-call half of a turn: how one call is recorded, simulated in a hidden run, run
with its effects committed exactly once, or held at "may or may not have run".

A mixin of :class:`conversations.turns.graph.TurnRunner`, kept apart so each module reads
as one concern; it uses the runner's conversation, turn, checkpoint writes and notify.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable

from django.db import transaction
from django.utils import timezone

from agents.models import AgentInstance, Tool
from agents.runtime import toolbox
from agents.tools.builtin import OutcomeUnknown
from agents.tools.registry import Effects, ToolContext
from conversations.models import Message, ToolCall, ToolGrant
from conversations.turns.outcome import TurnOutcome

logger = logging.getLogger("conversations.turns.graph")


class ToolCallSteps:
    def _unsettled(
        self, agent: AgentInstance, tool: Tool | None, call: dict, existing: ToolCall
    ) -> TurnOutcome | bool | None:
        """A call an earlier attempt started and never recorded the end of (its worker died), or
        one already found uncertain. A call whose effects are safe to repeat runs again (False:
        go on as usual); a call to another system waits for its owner to say whether it ran
        (an outcome), and goes on once they have (None: the call is settled, or runs again)."""
        if existing.status == ToolCall.Status.RUNNING:
            tool = tool or Tool.objects.filter(slug=existing.tool_slug).first()
            if tool is not None and toolbox.rerun_is_safe(tool):
                return False
            return self._hold_uncertain(existing, "The worker stopped while this call was running.")
        if existing.resolution == ToolCall.Resolution.RAN:
            result = {
                "outcome_unknown": True,
                "confirmed_by_user": True,
                "note": "The user confirmed this action ran; its response was never received.",
            }
            ToolCall.objects.filter(pk=existing.pk).update(
                status=ToolCall.Status.COMPLETED, result=result, finished_at=timezone.now()
            )
            self._tool_result(call, result)
            self._notify = True
            return None
        if existing.resolution == ToolCall.Resolution.RUN_AGAIN:
            # The owner chose to call again, knowing it may repeat the action (same idempotency
            # key). A tool the agent may no longer use is refused as usual instead.
            return self._execute(agent, tool, call, existing.arguments, existing) if tool else False
        return TurnOutcome(Message.Status.AWAITING_APPROVAL, usage=self.usage)

    def _hold_uncertain(self, record: ToolCall, reason: str) -> TurnOutcome:
        """Stop the turn at "this action may or may not have run": never a silent second call."""
        ToolCall.objects.filter(pk=record.pk).update(
            status=ToolCall.Status.UNCERTAIN, error=reason, resolution="", finished_at=None
        )
        logger.warning("tool call %s (%s) may or may not have run: %s", record.pk, record.tool_slug, reason)
        self.notify()
        return TurnOutcome(Message.Status.AWAITING_APPROVAL, usage=self.usage)

    def _simulate(self, agent: AgentInstance, tool: Tool, call: dict, arguments: dict) -> None:
        """Record what a gated tool would have done in a hidden run, and tell the agent it did
        not happen, so it goes on as it would after the call without anything acting."""
        run = self.conversation.get_purpose_display().lower().removesuffix(" (hidden)")
        run = f"{'an' if run[:1] in set('aeiou') else 'a'} {run}"
        result = {
            "not_executed": True,
            "tool": tool.slug,
            "arguments": arguments,
            "note": f"would call {tool.slug} with these arguments (not executed: this is {run})",
        }
        ToolCall.objects.update_or_create(
            idempotency_key=call["key"],
            defaults={
                "conversation": self.conversation, "turn": self.turn, "agent": agent,
                "tool_slug": tool.slug, "arguments": arguments, "status": ToolCall.Status.SIMULATED,
                "result": result, "error": "", "finished_at": timezone.now(),
            },
        )  # fmt: skip
        self._tool_result(call, result)
        self.notify()

    def _granted(self, tool: Tool) -> bool:
        return ToolGrant.objects.filter(conversation=self.conversation, tool_slug=tool.slug).exists()

    def _record_call(self, agent, call, arguments, status, error="") -> ToolCall:
        record, _ = ToolCall.objects.update_or_create(
            idempotency_key=call["key"],
            defaults={
                "conversation": self.conversation, "turn": self.turn, "agent": agent,
                "tool_slug": call["name"], "arguments": arguments, "status": status, "error": error,
                "finished_at": timezone.now() if status in {"refused", "failed"} else None,
            },
        )  # fmt: skip
        return record

    def _execute(self, agent, tool, call, arguments, existing: ToolCall | None) -> TurnOutcome | None:
        # Committed before the call acts: a worker that dies during it leaves this row ``running``,
        # which is how a resumed turn knows the call's outcome was never recorded.
        record = existing or self._record_call(agent, call, arguments, ToolCall.Status.RUNNING)
        if existing is not None:
            ToolCall.objects.filter(pk=record.pk).update(
                status=ToolCall.Status.RUNNING, error="", finished_at=None
            )
        self.notify()
        context = ToolContext(
            account_id=self.conversation.account_id,
            conversation_id=self.conversation.pk,
            user_id=self.conversation.user_id,
            idempotency_key=call["key"],
            agent_id=agent.pk,
        )
        effects = toolbox.effects_of(tool)
        try:
            if effects == Effects.DATABASE:
                # The rows it changes and the call's completion commit together: a crash before
                # the commit leaves neither, and the resumed turn runs the call again.
                with transaction.atomic():
                    ok, result = toolbox.run_tool(tool, arguments, context)
                    self._complete_call(record, ok, result)()
            else:
                ok, result = toolbox.run_tool(tool, arguments, context)
        except OutcomeUnknown as unknown:
            return self._hold_uncertain(record, str(unknown))
        if effects in {Effects.EXTERNAL, Effects.IDEMPOTENT}:
            # Recorded at once, not with the checkpoint: the window in which the call has acted
            # but its outcome is not in the database is as short as it can be.
            self._complete_call(record, ok, result)()
        elif effects == Effects.READ_ONLY:
            # Nothing to lose by redoing it: the outcome commits with the checkpoint that pops
            # this call (_drain_queue).
            self._writes.append(self._complete_call(record, ok, result))
        self._tool_result(call, result if ok else {"error": str(result)})
        self._notify = True
        return None

    @staticmethod
    def _complete_call(record: ToolCall, ok: bool, result: object) -> Callable[[], object]:
        return functools.partial(
            ToolCall.objects.filter(pk=record.pk).update,
            status=ToolCall.Status.COMPLETED if ok else ToolCall.Status.FAILED,
            result=result if ok else None,
            error="" if ok else str(result),
            finished_at=timezone.now(),
        )
