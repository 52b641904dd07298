"""One turn of the agent graph, as a checkpointed state machine.

route -> agent step (one model call) -> tool calls -> hand-off or final answer.
The checkpoint (``Turn.state``) is saved after every step and every tool call, so
a worker killed mid-turn resumes from the last completed one, and a completed tool
call (found by its idempotency key) is never run twice.

A step is one write transaction: the rows it produced (hand-offs, guard-rail events,
a tool call's outcome), the reply's fields (text, agent) and the checkpoint are written
together by ``save``, and what tells sockets about them is published after the commit.
A crash before that commit leaves nothing of the step behind, so redoing it cannot write
its rows twice. Before a tool with effects runs, the queue of calls is checkpointed on its
own, so a resumed turn never asks the model again for calls it may already have made.
"""

from __future__ import annotations

import functools
import json
import logging
import time
from collections.abc import Callable
from typing import Protocol

from django.conf import settings
from django.db import transaction
from django.db.models import Prefetch
from django.utils import timezone

from agents.llm.gateway import ChatStream, StreamResult
from agents.models import AgentInstance, Tool
from agents.runtime import guards, toolbox, wording
from agents.runtime.routing import route_message
from conversations.models import (
    Approval,
    GuardrailEvent,
    Handoff,
    Message,
    ToolCall,
    Turn,
)
from conversations.selectors import model_history
from conversations.turns.outcome import TurnOutcome
from conversations.turns.tool_calls import ToolCallSteps

logger = logging.getLogger(__name__)

STEP_LIMIT_ANSWER = (
    "I've taken as many steps as I'm allowed on this request ({limit}) without finishing it, "
    "so I'm stopping here rather than guessing. Please rephrase or narrow the request, "
    "or ask for a person to look at it."
)
CYCLE_ANSWER = (
    "The agents kept handing this request back and forth ({detail}), so I've stopped it here. "
    "Please say more about what you need, or ask for a person to look at it."
)


class ReplyWriter(Protocol):
    text: str
    pending: str

    def add(self, chunk: str) -> bool: ...

    def flush(self, **fields: object) -> bool: ...


class Superseded(Exception):
    """This attempt no longer owns the reply (stopped by the user, or taken over)."""


def _accumulate(total: StreamResult, step: StreamResult) -> None:
    total.model = step.model or total.model
    total.prompt_tokens += step.prompt_tokens
    total.completion_tokens += step.completion_tokens
    total.cost_usd += step.cost_usd
    if total.first_token_ms is None:
        total.first_token_ms = step.first_token_ms
    total.latency_ms += step.latency_ms
    total.attempts += step.attempts


class TurnRunner(ToolCallSteps):
    def __init__(self, reply: Message, writer: ReplyWriter, notify: Callable[[], None]):
        self.reply = reply
        self.conversation = reply.conversation
        self.writer = writer
        self.notify = notify  # tells sockets the message's steps changed
        self.deadline = time.monotonic() + settings.CELERY_TASK_SOFT_TIME_LIMIT
        self.usage = StreamResult()
        self._history: list[dict] | None = None
        # Row writes and reply fields that go with the next checkpoint (one transaction).
        self._writes: list[Callable[[], object]] = []
        self._reply_fields: dict[str, object] = {}
        self._notify = False
        self._queue_saved = True
        try:
            turn: Turn | None = reply.turn  # loaded with the claim
        except Turn.DoesNotExist:
            turn = None
        # A first attempt's turn is inserted with its first checkpoint, not before.
        self.turn = turn or Turn(reply=reply, conversation=self.conversation, state={})
        self.state: dict = self.turn.state or {}
        # The account's agent catalog, read once per turn: routing, each step's tool specs and
        # hand-off targets, and tool dispatch all use it (an MCP server's health too: a server
        # that goes down mid-turn has its tools withheld from the next turn on).
        self.agents = {
            a.slug: a
            for a in AgentInstance.objects.filter(account_id=self.conversation.account_id).prefetch_related(
                Prefetch("tools", queryset=Tool.objects.select_related("mcp__server")), "handoff_targets"
            )
        }

    # -- checkpoint ------------------------------------------------------------------

    def save(self, **reply_fields: object) -> None:
        """One commit: the ownership check (a conditional update of the reply, which also
        writes its pending text and changed fields), the step's rows, and the checkpoint,
        which records how much text there is, so a resumed attempt drops only what an
        interrupted step wrote. Frames and notifications go out after the commit: a socket
        that re-syncs from the database never misses what it was sent. ``reply_fields`` go
        into the same update of the reply (the final status, with the last step)."""
        # Inside reply_generate's final transaction no savepoint is needed: a failure here
        # fails (rolls back) that whole transaction anyway.
        with transaction.atomic(savepoint=False):
            if not self.writer.flush(updated_at=timezone.now(), **{**self._reply_fields, **reply_fields}):
                raise Superseded
            self.state["text_len"] = len(self.writer.text)
            self.turn.state = self.state
            created = self.turn.pk is None
            if created:
                self.turn.save()
            for write in self._writes:
                write()
            if not created:
                self.turn.save(update_fields=["state", "updated_at"])
            if self._notify:
                transaction.on_commit(self.notify)
        self._writes.clear()
        self._reply_fields.clear()
        self._notify = False
        self._queue_saved = True

    # -- the loop ----------------------------------------------------------------------

    def run(self) -> TurnOutcome:
        if not self.state.get("routed"):
            outcome = self._route()
            if outcome is not None:
                return outcome
        while True:
            if time.monotonic() > self.deadline:
                limit = settings.CELERY_TASK_SOFT_TIME_LIMIT
                return TurnOutcome(
                    Message.Status.FAILED, f"The reply took longer than {limit} s and was stopped."
                )
            if self.state.get("queue"):
                outcome = self._drain_queue()
                if outcome is not None:
                    return outcome
                continue
            agent = self._current_agent()
            if agent is None:
                slug = self.state.get("agent")
                return TurnOutcome(Message.Status.FAILED, f"Agent {slug} is not available in this account.")
            outcome = self._agent_step(agent)
            if outcome is not None:
                return outcome

    def _route(self) -> TurnOutcome | None:
        conversation = self.conversation
        # Only a routed conversation's router asks whether this is its first message.
        is_first = (
            conversation.routed
            and not conversation.messages.filter(
                role=Message.Role.USER, pk__lt=self.reply.reply_to_id
            ).exists()
        )
        routing = route_message(
            account=conversation.account,
            current=conversation.agent,
            text=self.reply.reply_to.content,
            is_first=is_first,
            routed=conversation.routed,
            catalog=self.agents.values(),
        )
        self.state.update(
            routed=True, agent=routing.agent.slug if routing.agent else None, steps={}, edges=[],
            transcript=[], step_index=0, route=routing.diagnostics,
        )  # fmt: skip
        if routing.reply is not None:
            # Small talk, an off-topic refusal or a clarifying question: the system answers, no
            # agent runs, and the text reads as a complete answer (nothing for the escalation ladder).
            return self._final(routing.reply)
        if routing.handoff_reason:
            self._record_handoff(conversation.agent, routing.agent, routing.handoff_reason, via="router")
        self._set_agent(routing.agent)
        if self._writes or self._reply_fields:
            # The new agent shows on the reply while it streams; with no change, the route
            # is checkpointed with the first step.
            self.save()

    def _current_agent(self) -> AgentInstance | None:
        agent = self.agents.get(self.state.get("agent"))
        if agent is None or agent.status != AgentInstance.Status.ACTIVE:
            return None
        return agent

    def _set_agent(self, agent: AgentInstance) -> None:
        self.state["agent"] = agent.slug
        if self.reply.agent_id != agent.pk:
            self.reply.agent = agent
            self._reply_fields["agent"] = agent
            self._notify = True
        if self.conversation.agent_id != agent.pk:
            self.conversation.agent = agent
            conversations = type(self.conversation).objects.filter(pk=self.conversation.pk)
            self._writes.append(lambda: conversations.update(agent=agent))

    # -- one model call ------------------------------------------------------------------

    def _agent_step(self, agent: AgentInstance) -> TurnOutcome | None:
        steps = self.state.setdefault("steps", {})
        if not self.state.get("step_open"):
            # A step that was interrupted mid-call is redone, not counted twice.
            if steps.get(agent.slug, 0) >= agent.step_limit:
                return self._stop_for_step_limit(agent)
            # Counted in memory and checkpointed with the step's outcome: a step interrupted
            # before that commit is counted again when it is redone, from the last checkpoint.
            steps[agent.slug] = steps.get(agent.slug, 0) + 1
            self.state["step_index"] = self.state.get("step_index", 0) + 1
        targets = [
            t
            for t in agent.handoff_targets.all()
            if t.status == AgentInstance.Status.ACTIVE and self.conversation.routed
        ]
        stream = ChatStream(
            messages=self._messages_for(agent),
            account_id=self.conversation.account_id,
            model=agent.model or None,
            tools=toolbox.specs_for(agent, targets, agent.tools.all()),
            metadata={"agent": agent.slug, "agent_step": steps[agent.slug]},
        )
        for text in stream:
            if not self.writer.add(text):
                raise Superseded
        _accumulate(self.usage, stream.result)
        self.state["step_open"] = False
        if not stream.tool_calls:
            # The final step's checkpoint is written by reply_generate with the reply's final
            # status, in one transaction.
            return TurnOutcome(Message.Status.COMPLETE, usage=self.usage)
        index = self.state["step_index"]
        self.state.setdefault("transcript", []).append(
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {"id": c["id"] or f"call_{index}_{i}", "type": "function",
                     "function": {"name": c["name"], "arguments": c["arguments"] or "{}"}}
                    for i, c in enumerate(stream.tool_calls)
                ],
            }
        )  # fmt: skip
        self.state["queue"] = [
            {"id": c["id"] or f"call_{index}_{i}", "name": c["name"], "arguments": c["arguments"] or "{}",
             "key": f"reply{self.reply.pk}:step{index}:call{i}", "agent": agent.slug}
            for i, c in enumerate(stream.tool_calls)
        ]  # fmt: skip
        # Saved with the hand-off that usually follows, or on its own before a tool runs.
        self._queue_saved = False
        return None

    def _messages_for(self, agent: AgentInstance) -> list[dict]:
        if self._history is None:  # the conversation before this turn cannot change during it
            self._history = [m for m in model_history(reply=self.reply) if m["role"] != "system"]
        history = self._history
        system = agent.system_prompt or f"You are {agent.name}."
        return [{"role": "system", "content": system}, *history, *self.state.get("transcript", [])]

    # -- tool calls and hand-offs ---------------------------------------------------------

    def _drain_queue(self) -> TurnOutcome | None:
        while self.state.get("queue"):
            call = self.state["queue"][0]
            agent = self.agents[call["agent"]]
            if call["name"].startswith(toolbox.TRANSFER_PREFIX):
                outcome = self._handoff(agent, call)
                # A hand-off ends the step: calls after it were meant for the old agent.
                self.state["queue"] = []
                self.save()
                return outcome
            if not self._queue_saved:
                # The calls are durable before any of them acts: a resumed turn runs these,
                # not what the model might answer if asked again.
                self.save()
            outcome = self._tool(agent, call)
            if outcome is not None:
                return outcome
            self.state["queue"].pop(0)
            self.save()
        return None

    def _tool_result(self, call: dict, content: dict) -> None:
        self.state["transcript"].append(
            {"role": "tool", "tool_call_id": call["id"], "content": json.dumps(content, default=str)}
        )

    def _handoff(self, agent: AgentInstance, call: dict) -> TurnOutcome | None:
        slug = call["name"].removeprefix(toolbox.TRANSFER_PREFIX)
        parsed = toolbox.parse_call(call["name"], call["arguments"])
        reason = str(parsed.arguments.get("reason") or "no reason given")
        target = self.agents.get(slug)
        allowed = {t.pk for t in agent.handoff_targets.all()} if self.conversation.routed else set()
        if target is None or target.pk not in allowed or target.status != AgentInstance.Status.ACTIVE:
            self._guard(
                agent, GuardrailEvent.Kind.HANDOFF_REFUSED, f"{agent.slug} may not hand off to {slug}"
            )
            self._tool_result(call, {"error": f"You cannot hand off to {slug}. Answer the user yourself."})
            return None
        edges = [tuple(e) for e in self.state.get("edges", [])]
        verdict = guards.check_handoff(edges, (agent.slug, target.slug))
        if verdict is not None:
            self._guard(agent, verdict.kind, verdict.detail)
            return self._final(CYCLE_ANSWER.format(detail=verdict.detail))
        self._record_handoff(agent, target, reason, via="tool")
        self._tool_result(call, {"transferred_to": target.slug, "reason": reason})
        self._set_agent(target)
        return None

    def _record_handoff(
        self, source: AgentInstance | None, target: AgentInstance, reason: str, via: str
    ) -> None:
        self._writes.append(
            functools.partial(
                Handoff.objects.create, conversation=self.conversation, turn=self.turn,
                from_agent=source, to_agent=target, reason=reason, via=via,
            )
        )  # fmt: skip
        if source is not None:
            self.state.setdefault("edges", []).append([source.slug, target.slug])
        self._notify = True

    def _tool(self, agent: AgentInstance, call: dict) -> TurnOutcome | None:
        existing = ToolCall.objects.filter(idempotency_key=call["key"]).select_related("approval").first()
        finished = {ToolCall.Status.COMPLETED, ToolCall.Status.FAILED, ToolCall.Status.SIMULATED}
        if existing is not None and existing.status in finished:
            failed = existing.status == ToolCall.Status.FAILED
            self._tool_result(call, {"error": existing.error} if failed else existing.result)
            return None
        tool = next((t for t in agent.tools.all() if t.slug == call["name"]), None)
        parsed = toolbox.parse_call(call["name"], call["arguments"])
        if existing is not None and existing.status in {ToolCall.Status.RUNNING, ToolCall.Status.UNCERTAIN}:
            unsettled = self._unsettled(agent, tool, call, existing)
            if unsettled is not False:
                return unsettled
        if tool is None:
            # Enforced at dispatch, whatever the prompt said: refused, recorded, never run.
            self._record_call(agent, call, parsed.arguments, ToolCall.Status.REFUSED, error="not allowed")
            self._guard(agent, GuardrailEvent.Kind.TOOL_REFUSED, f"{agent.slug} may not use {call['name']}")
            self._tool_result(call, {"error": f"You are not allowed to use {call['name']}."})
            return None
        errors = [parsed.error] if parsed.error else toolbox.argument_errors(tool, parsed.arguments)
        if errors:
            self._record_call(agent, call, parsed.arguments, ToolCall.Status.FAILED, error="; ".join(errors))
            self._tool_result(call, {"error": "Invalid arguments: " + "; ".join(errors)})
            return None
        if tool.requires_approval and self.conversation.is_hidden:
            # Nobody sees a hidden run, so nobody could approve it: before any grant or
            # approval (even one decided earlier) is consulted, the call is simulated.
            self._simulate(agent, tool, call, parsed.arguments)
            return None
        if tool.requires_approval and not self._granted(tool):
            if existing is None:
                existing = self._record_call(agent, call, parsed.arguments, ToolCall.Status.AWAITING_APPROVAL)
                Approval.objects.create(tool_call=existing, conversation=self.conversation)
                self.notify()
                return TurnOutcome(Message.Status.AWAITING_APPROVAL, usage=self.usage)
            decision = existing.approval.decision
            if decision == Approval.Decision.PENDING:
                return TurnOutcome(Message.Status.AWAITING_APPROVAL, usage=self.usage)
            if decision == Approval.Decision.DENIED:
                ToolCall.objects.filter(pk=existing.pk).update(
                    status=ToolCall.Status.DENIED, finished_at=timezone.now()
                )
                # The user decided: the turn ends in their terms, with no model call that could
                # retry the action or read the denial as a failure to escalate.
                self._tool_result(call, {"error": "The user denied this action."})
                return self._final(wording.DENIED_ANSWER)
        return self._execute(agent, tool, call, parsed.arguments, existing)

    # -- guard rails ------------------------------------------------------------------------

    def _guard(self, agent: AgentInstance | None, kind: str, detail: str) -> None:
        # Written with the checkpoint that follows every guard rail.
        self._writes.append(
            functools.partial(
                GuardrailEvent.objects.create,
                conversation=self.conversation, turn=self.turn, agent=agent, kind=kind, detail=detail,
            )
        )  # fmt: skip
        logger.info("guard rail %s in conversation %s: %s", kind, self.conversation.pk, detail)
        self._notify = True

    def _stop_for_step_limit(self, agent: AgentInstance) -> TurnOutcome:
        self._guard(
            agent,
            GuardrailEvent.Kind.STEP_LIMIT,
            f"{agent.slug} reached its limit of {agent.step_limit} steps",
        )
        return self._final(STEP_LIMIT_ANSWER.format(limit=agent.step_limit))

    def _final(self, text: str) -> TurnOutcome:
        written = self.writer.text + self.writer.pending
        if not self.writer.add(("\n\n" if written.strip() else "") + text):
            raise Superseded
        self.state["queue"] = []
        # Checkpointed by reply_generate with the final status, like any last step.
        return TurnOutcome(Message.Status.COMPLETE, usage=self.usage)
