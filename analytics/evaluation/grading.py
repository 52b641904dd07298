"""What one case's run produced, and whether each expectation holds: the agent reached (or out
of scope), the facts in the answer, the source cited, the tool call made (and gated), nothing done."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from agents.selectors import knowledge_articles_for_account
from conversations.models import Message, ToolCall

ARTICLE_LINK = re.compile(r"/knowledge/articles/(\d+)/")


@dataclass
class Observed:
    """What the case's hidden conversation shows after its last turn."""

    status: str  # the last reply's status
    error: str
    answer: str
    agent: str
    out_of_scope: bool
    sources: list[str]
    tool_calls: list[dict]
    latency_ms: int | None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    checks: list[dict] = field(default_factory=list)


def observe(*, replies: list[Message], account_id: int) -> Observed:
    """Read the finished replies of a case (one per turn; the last is graded)."""
    last = replies[-1]
    state = getattr(getattr(last, "turn", None), "state", None) or {}
    route = state.get("route") or {}
    ids = {int(found) for found in ARTICLE_LINK.findall(last.content)}
    slugs = dict(
        knowledge_articles_for_account(account_id=account_id).filter(pk__in=ids).values_list("pk", "slug")
    )
    sources: list[str] = []  # in the order the answer cites them
    for found in ARTICLE_LINK.findall(last.content):
        slug = slugs.get(int(found))
        if slug and slug not in sources:
            sources.append(slug)
    calls = ToolCall.objects.filter(conversation_id=last.conversation_id, turn__reply=last).order_by(
        "created_at", "id"
    )
    latencies = [r.latency_ms for r in replies if r.latency_ms is not None]
    return Observed(
        status=last.status,
        error=last.error,
        answer=last.content,
        agent=last.agent.slug if last.agent_id and route.get("outcome") != "out_of_scope" else "",
        out_of_scope=route.get("outcome") == "out_of_scope",
        sources=sources,
        tool_calls=[
            {"tool": call.tool_slug, "status": call.status, "arguments": call.arguments} for call in calls
        ],
        latency_ms=sum(latencies) if latencies else None,
        prompt_tokens=sum(r.prompt_tokens or 0 for r in replies),
        completion_tokens=sum(r.completion_tokens or 0 for r in replies),
        cost_usd=float(sum(r.cost_usd or 0 for r in replies)),
    )


def _check(name: str, passed: bool, expected: str, got: str) -> dict:
    return {"check": name, "passed": passed, "expected": expected, "got": got}


def grade(*, expectations: dict, observed: Observed) -> list[dict]:
    """Each expectation of the case with what was found; the case passes when all pass."""
    checks = [
        _check(
            "reply",
            observed.status == Message.Status.COMPLETE,
            "a complete reply",
            observed.status + (f": {observed.error}" if observed.error else ""),
        )
    ]
    agent = expectations.get("expected_agent") or ""
    got_agent = "out of scope" if observed.out_of_scope else (observed.agent or "no agent")
    if agent:
        checks.append(
            _check("agent", observed.agent == agent and not observed.out_of_scope, agent, got_agent)
        )
    if expectations.get("out_of_scope"):
        checks.append(_check("out_of_scope", observed.out_of_scope, "out of scope", got_agent))
    answer = observed.answer.lower()
    for fact in expectations.get("facts") or []:
        checks.append(
            _check("fact", fact.lower() in answer, fact, "present" if fact.lower() in answer else "missing")
        )
    source = expectations.get("source") or ""
    if source:
        checks.append(
            _check("source", source in observed.sources, source, ", ".join(observed.sources) or "none cited")
        )
    tool = expectations.get("tool") or ""
    made = [call for call in observed.tool_calls if call["tool"] == tool]
    if tool:
        summary = ", ".join(f"{c['tool']} ({c['status']})" for c in observed.tool_calls) or "no call"
        checks.append(_check("tool", bool(made), tool, summary))
        approval = expectations.get("approval_expected")
        if approval is not None and made:
            # In a hidden run a gated call is simulated (it would have asked for approval); an
            # ungated one runs.
            gated = any(call["status"] == ToolCall.Status.SIMULATED for call in made)
            checks.append(
                _check(
                    "approval",
                    gated == approval,
                    "approval asked" if approval else "no approval",
                    "approval asked" if gated else "no approval",
                )
            )
    if expectations.get("must_not_act"):
        acted = [c["tool"] for c in observed.tool_calls if c["status"] == ToolCall.Status.SIMULATED]
        checks.append(_check("must_not_act", not acted, "no gated call", ", ".join(acted) or "none"))
    return checks
