"""The route step: which agent answers this user message, and whether that is a hand-off."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from agents.models import AgentInstance
from agents.routing import scope
from agents.runtime import wording
from agents.selectors import (
    agent_default_for_account,
    agents_active_for_account,
    routing_profiles,
    routing_profiles_for_account,
)


@dataclass(frozen=True)
class Routing:
    agent: AgentInstance | None  # None: the message is answered without an agent (``reply``)
    handoff_reason: str | None = None  # set when the intent moved away from the current agent
    reply: str | None = None  # the system's own answer: small talk, an off-topic refusal, a question
    diagnostics: dict = field(default_factory=dict)  # the router's decision, for operators


def _diagnostics(decision, outcome: str) -> dict:
    return {
        "outcome": outcome,
        "out_of_scope": decision.out_of_scope,
        "confidence": decision.confidence,
        "out_of_scope_probability": decision.out_of_scope_probability,
        "agent": decision.agent,
        "scores": decision.scores,
        "reason": decision.reason,
    }


def _knowledge_covers(account, text: str) -> bool:
    from agents.knowledge.retrieval import search

    return bool(search(account_id=account.pk, query=text, limit=1))


def _knowledge_answers(account, text: str, agent_slug: str) -> bool:
    """A question ("What is the REST API rate limit?") that the likeliest agent's knowledge base
    answers needs no clarifying question: the answer does not depend on which agent gives it. A
    request ("We need help with our SSO setup") still gets one."""
    from agents.knowledge.retrieval import search

    if not text.rstrip().endswith("?"):
        return False
    return bool(search(account_id=account.pk, query=text, limit=1, agent_slug=agent_slug))


def _named_agent(text: str, agents: dict[str, AgentInstance]) -> AgentInstance | None:
    """The agent a short reply names ("Sales", "the solution architect please"), as an answer to a
    clarifying question."""
    words = re.sub(r"[^\w\s]", " ", text.lower()).split()
    words = [
        w for w in words if w not in {"the", "please", "one", "for", "it", "is", "to", "agent", "i", "mean"}
    ]
    phrase = " ".join(words)
    for agent in agents.values():
        if phrase and phrase in {agent.name.lower(), agent.slug.replace("_", " ").lower()}:
            return agent
    return None


def route_message(
    *,
    account,
    current: AgentInstance | None,
    text: str,
    is_first: bool,
    routed: bool = True,
    catalog: Iterable[AgentInstance] | None = None,
) -> Routing:
    """Who answers this message. Out of scope (small talk, off-topic, gibberish) is answered by the
    system itself on every arm whenever the account has a routing catalog to judge scope by; a
    request for a person never is, so it reaches the operators. A routed conversation's first
    message that the router is unsure of gets a clarifying question instead of a guess.
    ``catalog``: the account's agents when the caller has loaded them already (the turn engine
    does, once per turn), so routing reads none again."""
    if catalog is None:
        catalog = agents_active_for_account(account_id=account.pk)
    active = [a for a in catalog if a.status == AgentInstance.Status.ACTIVE]
    profiles = routing_profiles(active)
    agents = {a.slug: a for a in active}
    decision = None
    if profiles:
        from agents.routing.router import router_for_profiles

        router = router_for_profiles(profiles)
        decision = router.route(text)
        # Later in a conversation, "yes" or "go ahead" may answer the agent, and a short follow-up
        # ("and the second one?") the classifier cannot judge alone: the agent reads those.
        later = not is_first and current is not None and current.slug in agents
        follow_up = later and (
            scope.is_bare_answer(text)
            or (decision.out_of_scope in {scope.CHIT_CHAT, scope.OFF_TOPIC} and router.is_follow_up(text))
        )
        if decision.out_of_scope == scope.OFF_TOPIC and _knowledge_covers(account, text):
            # "How do I reset my password?" reads like general life advice to the classifier, but
            # the account's articles answer it: what the knowledge base covers is in scope.
            decision = replace(
                decision, out_of_scope=None, reason=decision.reason + "; the knowledge base covers it"
            )
        if not decision.in_scope and not follow_up and not scope.asks_for_person(text):
            catalog = [(p.name, p.description) for p in profiles]
            return Routing(
                agent=current if current is not None and current.slug in agents else None,
                reply=wording.out_of_scope_reply(kind=decision.out_of_scope, agents=catalog),
                diagnostics=_diagnostics(decision, "out_of_scope"),
            )
    if not routed and current is not None:
        return Routing(agent=current)  # a conversation with one chosen agent, or the legacy arm
    if not profiles:
        # No specialised agents: the account's general assistant answers everything.
        agent = (
            current
            if current is not None and current.slug in agents
            else agent_default_for_account(account=account)
        )
        return Routing(agent=agent)
    routable = current is not None and current.slug in {p.slug for p in profiles}
    if is_first or not routable:
        named = _named_agent(text, agents)
        if named is not None:
            return Routing(agent=named, diagnostics={"outcome": "named", "agent": named.slug})
        if (
            decision.confidence < account.routing_clarify_below
            and not scope.asks_for_person(text)
            and not _knowledge_answers(account, text, decision.agent)
        ):
            options = [agents[slug].name for slug in decision.likeliest(2) if slug in agents]
            return Routing(
                agent=None,
                reply=wording.clarify_question(options=options),
                diagnostics=_diagnostics(decision, "clarify"),
            )
        return Routing(agent=agents[decision.agent], diagnostics=_diagnostics(decision, "routed"))
    shift = router.detect_shift(text, current.slug, decision=decision)
    if shift is None or shift.agent not in agents:
        return Routing(agent=current)
    return Routing(
        agent=agents[shift.agent], handoff_reason=shift.reason, diagnostics=_diagnostics(shift, "handoff")
    )


def warm_up_routers() -> None:
    """Build every account's router now, so the first message does not wait for it."""
    from accounts.models import Account
    from agents.routing.router import router_for_profiles

    for account in Account.objects.all():
        profiles = routing_profiles_for_account(account=account)
        if profiles:
            router_for_profiles(profiles)
