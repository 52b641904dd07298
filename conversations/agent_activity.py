"""The replies an agent wrote lately, as its page in the agents app lists them (registered in
agents.activity by this app's ready())."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.urls import reverse

from agents.activity import AgentReply
from agents.models import AgentInstance
from conversations.models import Conversation, Message
from conversations.selectors import conversations_for_user


def agent_replies_recent(
    *, agent: AgentInstance, user: AbstractBaseUser, limit: int = 20
) -> list[AgentReply]:
    """The agent's latest replies in its account's chats (hidden runs and deleted conversations
    left out). Only a conversation the viewer may see (their own) is linked and quoted."""
    chats = Conversation.objects.visible().filter(account_id=agent.account_id, deleted_at__isnull=True)
    replies = list(
        Message.objects.filter(
            agent=agent, role=Message.Role.ASSISTANT, sent_by__isnull=True, conversation__in=chats
        )
        .exclude(status=Message.Status.DISCARDED)
        .order_by("-created_at", "-id")[:limit]
    )
    own = set(
        conversations_for_user(account=agent.account, user=user)
        .filter(pk__in={r.conversation_id for r in replies})
        .values_list("pk", flat=True)
    )
    return [
        AgentReply(
            created_at=reply.created_at,
            status=reply.get_status_display(),
            url=reverse("conversations:conversation", args=[reply.conversation_id])
            if reply.conversation_id in own
            else None,
            excerpt=reply.content[:160] if reply.conversation_id in own else None,
        )
        for reply in replies
    ]
