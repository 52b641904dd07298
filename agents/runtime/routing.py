"""The route step: which agent answers this user message, and whether that is a hand-off."""

from __future__ import annotations

from dataclasses import dataclass

from agents.models import AgentInstance
from agents.selectors import (
    agent_default_for_account,
    agents_active_for_account,
    routing_profiles_for_account,
)


@dataclass(frozen=True)
class Routing:
    agent: AgentInstance
    handoff_reason: str | None = None  # set when the intent moved away from the current agent


def route_message(
    *, account, current: AgentInstance | None, text: str, is_first: bool, routed: bool = True
) -> Routing:
    if not routed and current is not None:
        return Routing(agent=current)  # a conversation with one chosen agent
    profiles = routing_profiles_for_account(account=account)
    agents = {a.slug: a for a in agents_active_for_account(account_id=account.pk)}
    if not profiles:
        # No specialised agents: the account's general assistant answers everything.
        agent = (
            current
            if current is not None and current.slug in agents
            else agent_default_for_account(account=account)
        )
        return Routing(agent=agent)
    from agents.routing.router import router_for_profiles

    router = router_for_profiles(profiles)
    routable = current is not None and current.slug in {p.slug for p in profiles}
    if is_first or not routable:
        decision = router.route(text)
        return Routing(agent=agents[decision.agent])
    shift = router.detect_shift(text, current.slug)
    if shift is None or shift.agent not in agents:
        return Routing(agent=current)
    return Routing(agent=agents[shift.agent], handoff_reason=shift.reason)


def warm_up_routers() -> None:
    """Build every account's router now, so the first message does not wait for it."""
    from accounts.models import Account
    from agents.routing.router import router_for_profiles

    for account in Account.objects.all():
        profiles = routing_profiles_for_account(account=account)
        if profiles:
            router_for_profiles(profiles)
