"""The agents API: workflow templates, and each account's agents.

Account routes answer 404 to anyone who is not a member of the account, whether or not it
exists; members without the admin role may read but get 403 on writes, and read an agent
without its internals (prompt, model, configuration, tools, hand-offs, routing examples: null).
"""

from __future__ import annotations

from django.http import Http404, HttpRequest
from ninja import Router, Status
from ninja.errors import HttpError

from accounts.models import Membership
from agents.api_selectors import (
    agent_instance_for_account,
    agent_instances_for_account,
    agent_templates_list,
    membership_for_account_slug,
)
from agents.knowledge.api import router as knowledge_router
from agents.models import AgentInstance
from agents.schemas import SHOWS_INTERNALS, AgentIn, AgentOut, AgentTemplateOut
from agents.services import agent_instance_create, agent_instance_delete, agent_instance_update

router = Router(tags=["agents"])
# The account's knowledge collections, documents and search (agents/knowledge/api.py).
router.add_router("", knowledge_router)


def _membership(request: HttpRequest, account: str, *, admin: bool = False) -> Membership:
    membership = membership_for_account_slug(user=request.user, account_slug=account)
    if membership is None:
        raise Http404
    if admin and not membership.is_admin:
        raise HttpError(403, "Only the account's admins may change its agents.")
    # Read by AgentOut's resolvers, which null the internals for everyone else.
    setattr(request, SHOWS_INTERNALS, membership.is_admin)
    return membership


def _agent(membership: Membership, slug: str) -> AgentInstance:
    agent = agent_instance_for_account(account=membership.account, slug=slug)
    if agent is None:
        raise Http404
    return agent


@router.get("/agentic-workflows", response=list[AgentTemplateOut], summary="List the agent templates")
def templates_list(request: HttpRequest):
    return agent_templates_list()


@router.get("/accounts/{account}/agents", response=list[AgentOut], summary="List the account's agents")
def agents_list(request: HttpRequest, account: str):
    membership = _membership(request, account)
    return agent_instances_for_account(account=membership.account)


@router.post("/accounts/{account}/agents", response={201: AgentOut}, summary="Create an agent")
def agents_create(request: HttpRequest, account: str, payload: AgentIn):
    membership = _membership(request, account, admin=True)
    agent = agent_instance_create(account=membership.account, data=payload.dict())
    return Status(201, _agent(membership, agent.slug))


@router.get("/accounts/{account}/agents/{agent}", response=AgentOut, summary="Get an agent")
def agents_get(request: HttpRequest, account: str, agent: str):
    return _agent(_membership(request, account), agent)


@router.put("/accounts/{account}/agents/{agent}", response=AgentOut, summary="Replace an agent")
def agents_update(request: HttpRequest, account: str, agent: str, payload: AgentIn):
    membership = _membership(request, account, admin=True)
    updated = agent_instance_update(agent=_agent(membership, agent), data=payload.dict())
    return _agent(membership, updated.slug)


@router.delete("/accounts/{account}/agents/{agent}", response={204: None}, summary="Delete an agent")
def agents_delete(request: HttpRequest, account: str, agent: str):
    membership = _membership(request, account, admin=True)
    agent_instance_delete(agent=_agent(membership, agent))
    return Status(204, None)
