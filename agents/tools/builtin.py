"""The tools that ship with the product. Each takes validated arguments and a
ToolContext, and returns a JSON-serialisable result."""

from __future__ import annotations

from typing import Any

import httpx
from django.db import IntegrityError, transaction
from django.db.models import Max

from agents.models import LiveSystemConnection, Ticket
from agents.tools.registry import Effects, ToolContext, register


class ToolFailed(Exception):
    """The tool ran and failed; the message is shown to the agent and the user."""


class OutcomeUnknown(ToolFailed):
    """The request may have reached the other system, but no answer came back: whether it acted
    is unknown, so the call is neither a failure to retry nor a success to report."""


@register("knowledge_search", effects=Effects.READ_ONLY)
def knowledge_search(ctx: ToolContext, *, query: str, limit: int = 3) -> dict[str, Any]:
    from agents.knowledge.retrieval import hit_result, search

    # Only the calling agent's collections: a collection closed to it never answers through it.
    hits = search(account_id=ctx.account_id, query=query, limit=limit, agent_id=ctx.agent_id)
    return {"results": [hit_result(h) for h in hits]}


def _ticket_json(ticket: Ticket) -> dict[str, Any]:
    return {
        "number": ticket.number,
        "title": ticket.title,
        "status": ticket.status,
        "priority": ticket.priority,
    }


@register("ticket_create", effects=Effects.IDEMPOTENT)
def ticket_create(
    ctx: ToolContext, *, title: str, description: str = "", priority: str = "medium"
) -> dict[str, Any]:
    existing = Ticket.objects.filter(account_id=ctx.account_id, idempotency_key=ctx.idempotency_key).first()
    if existing is not None:
        return {"ticket": _ticket_json(existing), "created": False}
    try:
        with transaction.atomic():
            number = (
                Ticket.objects.filter(account_id=ctx.account_id).aggregate(n=Max("number"))["n"] or 0
            ) + 1
            ticket = Ticket.objects.create(
                account_id=ctx.account_id,
                number=number,
                title=title,
                description=description,
                priority=priority,
                idempotency_key=ctx.idempotency_key,
            )
    except IntegrityError:
        # Lost a race for the number or the key: the key's row, if any, is the answer.
        ticket = Ticket.objects.filter(account_id=ctx.account_id, idempotency_key=ctx.idempotency_key).first()
        if ticket is None:
            raise ToolFailed("could not allocate a ticket number; try again") from None
        return {"ticket": _ticket_json(ticket), "created": False}
    return {"ticket": _ticket_json(ticket), "created": True}


@register("ticket_update", effects=Effects.DATABASE)
def ticket_update(
    ctx: ToolContext, *, number: int, status: str | None = None, priority: str | None = None
) -> dict[str, Any]:
    ticket = Ticket.objects.filter(account_id=ctx.account_id, number=number).first()
    if ticket is None:
        raise ToolFailed(f"there is no ticket #{number} in this account")
    if status:
        ticket.status = status
    if priority:
        ticket.priority = priority
    ticket.save()
    return {"ticket": _ticket_json(ticket)}


@register("live_system_request", effects=Effects.EXTERNAL)
def live_system_request(
    ctx: ToolContext, *, method: str, path: str, body: dict | None = None
) -> dict[str, Any]:
    connection = LiveSystemConnection.objects.filter(account_id=ctx.account_id).first()
    if connection is None:
        raise ToolFailed("this account has no live system configured")
    headers = {"Idempotency-Key": ctx.idempotency_key}
    if connection.credential:
        headers["Authorization"] = f"Bearer {connection.credential}"
    url = connection.base_url.rstrip("/") + "/" + path.lstrip("/")
    try:
        response = httpx.request(
            method.upper(), url, json=body, headers=headers, timeout=connection.timeout_seconds
        )
    except (httpx.ConnectError, httpx.ConnectTimeout) as error:
        # Never connected, so nothing was sent: a plain failure.
        raise ToolFailed(f"could not reach the live system: {error}") from None
    except httpx.TimeoutException:
        raise OutcomeUnknown(
            f"the live system did not answer within {connection.timeout_seconds:g} s"
        ) from None
    except httpx.HTTPError as error:
        # Connected and sent (or sending) when it broke: the system may have acted.
        raise OutcomeUnknown(f"the connection to the live system broke: {error}") from None
    try:
        payload: Any = response.json()
    except ValueError:
        payload = response.text[:2000]
    return {"status_code": response.status_code, "body": payload}
