"""One agent answering one text outside any conversation, through the LLM gateway.

Used by every orchestration mode (each TaskRun is one call of ``agent_answer``), by the
hierarchical merge, and by other apps that need an agent's answer to a prompt (the
escalation pipeline's research and voting phases).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from agents.llm.gateway import ChatStream, LLMError
from agents.models import AgentInstance


class AnswerTimedOut(LLMError):
    """The answer took longer than its deadline and was abandoned part-way."""


class AnswerStopped(Exception):
    """``should_stop`` asked for the answer to stop (the run was cancelled)."""


@dataclass(frozen=True)
class AgentAnswer:
    text: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    latency_ms: int

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


def agent_messages(agent: AgentInstance, prompt: str) -> list[dict]:
    system = agent.system_prompt or f"You are {agent.name}."
    return [{"role": "system", "content": system}, {"role": "user", "content": prompt}]


def agent_answer(
    *,
    agent: AgentInstance,
    prompt: str,
    attempt: int = 1,
    timeout_seconds: float | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> AgentAnswer:
    """The agent's answer to ``prompt`` with its model and system prompt, no tools.

    Raises ``LLMError`` when no model could answer, ``AnswerTimedOut`` when the answer
    is not complete within ``timeout_seconds``, and ``AnswerStopped`` when
    ``should_stop`` (checked between chunks) returns True. ``attempt`` is passed to the
    model as the step number, so a scripted model can fail a first attempt and answer a
    retry.
    """
    started = time.monotonic()
    deadline = started + timeout_seconds if timeout_seconds else None
    stream = ChatStream(
        messages=agent_messages(agent, prompt),
        account_id=agent.account_id,
        model=agent.model or None,
        metadata={"agent": agent.slug, "agent_step": attempt, "purpose": "orchestration"},
    )
    parts: list[str] = []
    for text in stream:
        parts.append(text)
        if deadline is not None and time.monotonic() > deadline:
            raise AnswerTimedOut(f"no complete answer within {timeout_seconds:g} s")
        if should_stop is not None and should_stop():
            raise AnswerStopped
    if deadline is not None and time.monotonic() > deadline:
        raise AnswerTimedOut(f"no complete answer within {timeout_seconds:g} s")
    result = stream.result
    return AgentAnswer(
        text="".join(parts).strip(),
        model=result.model,
        prompt_tokens=result.prompt_tokens,
        completion_tokens=result.completion_tokens,
        cost_usd=result.cost_usd,
        latency_ms=result.latency_ms or int((time.monotonic() - started) * 1000),
    )
