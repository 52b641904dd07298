"""The chat API: straight to one agent, routed across the account's agents, and
deciding approvals. Replies come back once the turn finishes or pauses for approval."""

from __future__ import annotations

from django.db import transaction
from django.http import Http404, HttpRequest
from ninja import Path, Router
from ninja.errors import HttpError

from accounts.ratelimit import chat_send_throttle
from accounts.selectors import memberships_for_user
from agents.api_selectors import agent_instance_for_account, membership_for_account_slug
from conversations.models import Approval, Conversation, Message
from conversations.schemas import ApprovalIn, ChatIn, ChatOut
from conversations.selectors import (
    approval_for_user,
    conversation_get,
    reply_steps,
    reply_wait,
)
from conversations.services import (
    ApprovalAlreadyDecided,
    ReplyInFlight,
    approval_decide,
    conversation_start,
    message_send,
)
from rollout.selectors import multi_agent_api_allowed

router = Router(tags=["chat"])


def chat_response(reply: Message) -> dict:
    steps = reply_steps(message=reply)
    pending = next(
        (
            c
            for c in steps["tool_calls"]
            if c.status == "awaiting_approval" and c.approval.decision == "pending"
        ),
        None,
    )
    return {
        "conversation_id": reply.conversation_id,
        "arm": reply.conversation.arm,
        "message_id": reply.pk,
        "status": reply.status,
        "reply": reply.content,
        "agent": reply.agent.slug if reply.agent else None,
        "model": reply.model,
        "error": reply.error,
        "handoffs": [
            {
                "from_agent": h.from_agent.slug if h.from_agent else None,
                "to_agent": h.to_agent.slug if h.to_agent else "",
                "reason": h.reason,
                "via": h.via,
            }
            for h in steps["handoffs"]
        ],
        "pending_approval": (
            {
                "id": pending.approval.public_id,
                "tool": pending.tool_slug,
                "arguments": pending.arguments,
                "agent": pending.agent.slug if pending.agent else None,
            }
            if pending
            else None
        ),
    }


def _send(
    request: HttpRequest, payload: ChatIn, *, conversation: Conversation | None = None, **start
) -> dict:
    """Send the message in ``conversation``, or in a new one started with ``start``. A new
    conversation and its first message commit together: a refused message leaves nothing behind."""
    try:
        with transaction.atomic():
            if conversation is None:
                conversation = conversation_start(user=request.user, **start)
            _, reply = message_send(
                conversation=conversation,
                user=request.user,
                content=payload.message,
                strategy=payload.multitask_strategy,
            )
    except ReplyInFlight as error:
        hint = "Or send it with multitask_strategy 'enqueue', 'interrupt' or 'rollback'."
        raise HttpError(409, " ".join([*error.messages, hint])) from error
    return chat_response(reply_wait(reply_id=reply.pk, timeout=payload.wait_seconds))


@router.post("/accounts/{account}/agents/{agent}/chat", response=ChatOut, summary="Chat with one agent")
def chat_with_agent(request: HttpRequest, account: str, agent: str, payload: ChatIn):
    chat_send_throttle(user=request.user)
    membership = membership_for_account_slug(user=request.user, account_slug=account)
    if membership is None:
        raise Http404
    if payload.conversation_id is not None:
        conversation = conversation_get(
            account=membership.account, user=request.user, pk=payload.conversation_id
        )
        if conversation.routed or conversation.agent is None or conversation.agent.slug != agent:
            raise Http404
    else:
        chosen = agent_instance_for_account(account=membership.account, slug=agent)
        if chosen is None:
            raise Http404
        return _send(request, payload, account=membership.account, agent=chosen)
    return _send(request, payload, conversation=conversation)


def _chat_membership(request: HttpRequest, payload: ChatIn):
    memberships = memberships_for_user(user=request.user)
    membership = (
        memberships.filter(account__slug=payload.account).first() if payload.account else memberships.first()
    )
    if membership is None:
        raise Http404
    return membership


@router.post("/chat/message", response=ChatOut, summary="Send a message; the rollout decides the arm")
def chat_message(request: HttpRequest, payload: ChatIn):
    """A new conversation is served by the arm the rollout flag gives you (the multi-agent
    system or the legacy single agent) and keeps it; ``arm`` in the response says which."""
    chat_send_throttle(user=request.user)
    membership = _chat_membership(request, payload)
    if payload.conversation_id is not None:
        conversation = conversation_get(
            account=membership.account, user=request.user, pk=payload.conversation_id
        )
        return _send(request, payload, conversation=conversation)
    return _send(request, payload, account=membership.account)


@router.post(
    "/chat/multi-agent/message",
    response=ChatOut,
    summary="Send a message to the routed agents (account admins and users with an override)",
)
def chat_multi_agent(request: HttpRequest, payload: ChatIn):
    chat_send_throttle(user=request.user)
    membership = _chat_membership(request, payload)
    conversation = None
    if payload.conversation_id is not None:  # another user's conversation is a 404 before anything
        conversation = conversation_get(
            account=membership.account, user=request.user, pk=payload.conversation_id
        )
    if not multi_agent_api_allowed(user=request.user, membership=membership):
        raise HttpError(
            403,
            "The multi-agent system is being rolled out: this route is open to account admins and "
            "users with an override. Use POST /api/chat/message, which serves the arm you are in.",
        )
    if conversation is not None:
        if conversation.arm != Conversation.Arm.MULTI_AGENT or not conversation.routed:
            raise HttpError(
                409,
                "This conversation is not served by the multi-agent system; continue it with "
                "POST /api/chat/message.",
            )
        return _send(request, payload, conversation=conversation)
    return _send(request, payload, account=membership.account, arm=Conversation.Arm.MULTI_AGENT)


@router.post(
    "/approvals/{approval_id}",
    response=ChatOut,
    summary="Approve or deny a pending action in one of your conversations",
)
def approval_decide_api(
    request: HttpRequest,
    payload: ApprovalIn,
    approval_id: str = Path(..., description="The approval's id, `pending_approval.id` (a UUID)."),
):
    """Only the user whose conversation asked may decide; for anyone else, as for an unknown
    id, this is a 404. A decided approval cannot be decided again (409)."""
    # A str, not a UUID, in the signature: an id that is not a UUID is then the same 404.
    approval: Approval = approval_for_user(user=request.user, public_id=approval_id)
    try:
        approval_decide(
            approval=approval,
            user=request.user,
            approve=payload.decision == "approve",
            allow_for_conversation=payload.allow_for_conversation,
        )
    except ApprovalAlreadyDecided as error:
        raise HttpError(409, " ".join(error.messages)) from error
    return chat_response(reply_wait(reply_id=approval.tool_call.turn.reply_id, timeout=payload.wait_seconds))
