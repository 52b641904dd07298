"""Shadow answers: for a legacy conversation of a user in the rollout's shadow cohort, the
multi-agent system also answers each message, in the background, in a hidden conversation.

Rollout decides the arm (``rollout.decision.decide``); conversations owns the hidden
conversation, the pairs of answers, and the section of the Rollout page that shows them
(registered with ``rollout.pages`` in ``ConversationsConfig.ready``).
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.http import HttpRequest

from accounts.models import Account
from agents.selectors import agent_default_for_account
from conversations.models import Conversation, Message, ShadowConversation, ShadowPair
from conversations.selectors import shadow_pairs_for_account
from rollout.decision import MULTI_AGENT_FLAG, decide
from rollout.models import Flag
from rollout.pages import FlagPageSection

logger = logging.getLogger(__name__)


def shadow_start(*, conversation: Conversation, question: Message, reply: Message) -> None:
    """Also answer ``question`` with the multi-agent system when the conversation is served by
    the legacy agent and its user is in the shadow cohort. Called inside ``message_send``'s
    transaction; it never raises, so the served answer never depends on it."""
    if conversation.arm != Conversation.Arm.LEGACY:
        return
    try:
        decision = decide(MULTI_AGENT_FLAG, user_id=conversation.user_id, account_id=conversation.account_id)
        if not decision.shadow:
            return
        with transaction.atomic():  # a savepoint: a failure here leaves the served message alone
            _shadow_create(conversation=conversation, question=question, reply=reply)
    except Exception:
        logger.exception("shadow: could not start the shadow reply for message %s", question.pk)


def _shadow_create(*, conversation: Conversation, question: Message, reply: Message) -> None:
    # Imported here: the task module imports the turn engine, which imports this app's services.
    from conversations.tasks import generate_reply

    shadow = ShadowConversation.objects.filter(served=conversation).select_related("conversation").first()
    if shadow is None:
        hidden = Conversation.objects.create(
            account_id=conversation.account_id,
            user_id=conversation.user_id,
            title=f"Shadow of #{conversation.pk}: {question.content[:60]}",
            agent=agent_default_for_account(account=conversation.account),
            routed=True,
            arm=Conversation.Arm.MULTI_AGENT,
            # Hidden: nobody sees this run, so its gated tools are simulated and never approved.
            purpose=Conversation.Purpose.SHADOW,
        )
        flag = Flag.objects.get(key=MULTI_AGENT_FLAG)
        shadow = ShadowConversation.objects.create(conversation=hidden, served=conversation, flag=flag)
    hidden = shadow.conversation
    shadow_question = Message.objects.create(
        conversation=hidden, role=Message.Role.USER, content=question.content
    )
    shadow_reply = Message.objects.create(
        conversation=hidden,
        role=Message.Role.ASSISTANT,
        status=Message.Status.PENDING,
        agent=hidden.agent,
        reply_to=shadow_question,
    )
    ShadowPair.objects.create(shadow=shadow, question=question, legacy_reply=reply, shadow_reply=shadow_reply)
    transaction.on_commit(lambda: generate_reply.delay(shadow_reply.pk))


def shadow_answers_section(*, account: Account, flag: Flag, request: HttpRequest) -> FlagPageSection:
    """The Rollout page's "Shadow comparisons" card: the latest pairs side by side."""
    return FlagPageSection(
        template_name="conversations/_rollout_shadow_answers.html",
        context={"shadow_pairs": shadow_pairs_for_account(account=account)},
    )
