"""Writes for escalations: opening one (once per trigger), and what operators do with
it in the queue (claim, assign, reply, resolve, promote), and the learning loop."""

from __future__ import annotations

import logging

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import Account, Membership
from conversations.models import Conversation, Message
from conversations.services import message_post
from escalations import detection
from escalations.models import LADDER, Escalation, EscalationPolicy, LearnedPattern, Phase
from escalations.realtime import publish_escalation
from escalations.selectors import escalation_active_in_conversation, is_operator_of

logger = logging.getLogger(__name__)

Status = Escalation.Status

# A person asked for one, or an operator decided it: the ladder would only delay them.
STRAIGHT_TO_HUMAN = {Escalation.Trigger.ASKED_FOR_PERSON, Escalation.Trigger.MANUAL}
NOTE_MAX_CHARS = 4000


class EscalationConflict(ValidationError):
    """The action lost a race or no longer applies (claimed by someone else, resolved)."""


def policy_for_account(*, account_id: int) -> EscalationPolicy:
    policy, _ = EscalationPolicy.objects.get_or_create(account_id=account_id)
    return policy


def publish_on_commit(escalation: Escalation) -> None:
    account_id, escalation_id = escalation.account_id, escalation.pk
    transaction.on_commit(lambda: _publish_quietly(account_id, escalation_id))


def _publish_quietly(account_id: int, escalation_id: int) -> None:
    # A live update is a convenience; the change itself is committed and a reload shows it.
    try:
        publish_escalation(account_id, escalation_id)
    except Exception:
        logger.warning("could not publish escalation %s", escalation_id, exc_info=True)


def question_for(message: Message) -> str:
    """The user's request behind a message: itself if the user wrote it, else the
    question it answered, else the user's last message before it."""
    if message.role == Message.Role.USER:
        return message.content
    if message.reply_to_id:
        return message.reply_to.content
    previous = (
        Message.objects.filter(
            conversation_id=message.conversation_id, role=Message.Role.USER, pk__lt=message.pk
        )
        .order_by("-pk")
        .values_list("content", flat=True)
        .first()
    )
    return previous or message.content


@transaction.atomic
def escalation_open(
    *,
    conversation: Conversation,
    message: Message,
    trigger: str,
    reason: str,
    created_by: AbstractBaseUser | None = None,
    priority: int | None = None,
    start_after: str | None = None,
) -> tuple[Escalation, bool]:
    """Open an escalation for ``trigger`` on ``message`` and start the ladder, once:
    a second call for the same pair returns the first (the database enforces it too).
    Returns (escalation, created)."""
    existing = Escalation.objects.filter(trigger=trigger, message=message).first()
    if existing is not None:
        return existing, False
    question = question_for(message)
    if priority is None:
        urgent = detection.is_urgent(question)
        high = trigger == Escalation.Trigger.ASKED_FOR_PERSON
        priority = (
            Escalation.Priority.URGENT
            if urgent
            else Escalation.Priority.HIGH
            if high
            else Escalation.Priority.NORMAL
        )
    try:
        with transaction.atomic():
            escalation = Escalation.objects.create(
                account_id=conversation.account_id,
                conversation=conversation,
                message=message,
                trigger=trigger,
                reason=reason,
                question=question,
                priority=priority,
                created_by=created_by,
            )
    except IntegrityError:  # a concurrent call for the same trigger won
        return Escalation.objects.get(trigger=trigger, message=message), False
    first = Phase.HUMAN if trigger in STRAIGHT_TO_HUMAN else _phase_after(start_after)
    from escalations.ladder import ladder_enter

    ladder_enter(escalation=escalation, phase=first)
    logger.info("escalation %s opened (%s) in conversation %s", escalation.pk, trigger, conversation.pk)
    return escalation, True


def _phase_after(phase: str | None) -> str:
    if not phase:
        return LADDER[0]
    return LADDER[min(LADDER.index(phase) + 1, len(LADDER) - 1)]


def escalation_escalate_by_hand(
    *,
    account: Account,
    user: AbstractBaseUser,
    conversation_id: int,
    reason: str,
    priority: int | None = None,
) -> Escalation:
    """An operator sends one of the account's conversations straight to the queue."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why this conversation needs a person."})
    conversation = Conversation.objects.filter(account=account, pk=conversation_id).first()
    if conversation is None:
        raise ValidationError({"conversation": f"This account has no conversation {conversation_id}."})
    if priority is not None and priority not in Escalation.Priority.values:
        raise ValidationError({"priority": "Priority is 1 (low) to 4 (urgent)."})
    message = conversation.messages.order_by("-created_at", "-id").first()
    if message is None:
        raise ValidationError({"conversation": "That conversation has no messages yet."})
    active = escalation_active_in_conversation(conversation_id=conversation.pk)
    if active is not None:
        raise EscalationConflict(f"This conversation is already being worked on as escalation #{active.pk}.")
    escalation, created = escalation_open(
        conversation=conversation,
        message=message,
        trigger=Escalation.Trigger.MANUAL,
        reason=reason,
        created_by=user,
        priority=priority,
    )
    if not created:
        raise EscalationConflict(
            f"This conversation's latest message is already escalation #{escalation.pk}."
        )
    return escalation


# --- the queue ---------------------------------------------------------------------------------


def _holder(escalation: Escalation) -> str:
    return escalation.assignee.get_username() if escalation.assignee else "nobody"


def _require_in_queue(escalation: Escalation) -> None:
    if escalation.status == Status.LADDER:
        raise EscalationConflict(
            "This escalation is still on the ladder; it reaches the queue if no phase answers."
        )
    if escalation.status == Status.RESOLVED:
        raise EscalationConflict("This escalation is already resolved.")


def escalation_claim(*, escalation: Escalation, user: AbstractBaseUser) -> Escalation:
    """Take an open escalation. Under concurrent claims exactly one wins: the update
    only applies while nobody holds it, and the others are told who does."""
    now = timezone.now()
    won = Escalation.objects.filter(pk=escalation.pk, status=Status.OPEN, assignee__isnull=True).update(
        assignee=user, status=Status.CLAIMED, claimed_at=now, updated_at=now
    )
    escalation.refresh_from_db()
    if not won:
        if escalation.assignee_id == user.pk:
            return escalation
        _require_in_queue(escalation)
        raise EscalationConflict(f"{_holder(escalation)} has already claimed this escalation.")
    publish_on_commit(escalation)
    return escalation


def escalation_assign(
    *, escalation: Escalation, user: AbstractBaseUser, assignee: AbstractBaseUser
) -> Escalation:
    """Hand an escalation to another operator: by whoever holds it, anyone while nobody
    does, or an admin at any time."""
    if not is_operator_of(user=assignee, account_id=escalation.account_id):
        raise ValidationError({"assignee": "Escalations can only be assigned to this account's operators."})
    _require_in_queue(escalation)
    is_admin = Membership.objects.filter(
        user=user, account_id=escalation.account_id, role=Membership.Role.ADMIN
    ).exists()
    now = timezone.now()
    allowed = Escalation.objects.filter(pk=escalation.pk, status__in=Escalation.IN_QUEUE)
    if not is_admin:
        allowed = allowed.filter(assignee__isnull=True) | allowed.filter(assignee=user)
    moved = Escalation.objects.filter(pk__in=allowed.values("pk")).update(
        assignee=assignee, claimed_at=now, updated_at=now
    )
    if moved:
        Escalation.objects.filter(pk=escalation.pk, status=Status.OPEN).update(status=Status.CLAIMED)
    escalation.refresh_from_db()
    if not moved:
        _require_in_queue(escalation)
        raise EscalationConflict(
            f"{_holder(escalation)} has this escalation; only they or an admin can reassign it."
        )
    publish_on_commit(escalation)
    return escalation


@transaction.atomic
def escalation_reply(*, escalation: Escalation, user: AbstractBaseUser, content: str) -> Message:
    """An operator answers in the user's conversation (shown live, marked as from a
    person). Replying to an unclaimed escalation claims it."""
    locked = Escalation.objects.select_for_update().get(pk=escalation.pk)
    _require_in_queue(locked)
    if locked.assignee_id is None:
        escalation_claim(escalation=locked, user=user)
        locked.refresh_from_db()
    if locked.assignee_id != user.pk:
        raise EscalationConflict(
            f"{_holder(locked)} has this escalation; claim it or ask them to reassign it."
        )
    message = message_post(conversation=locked.conversation, content=content, sent_by=user)
    now = timezone.now()
    locked.first_response_at = locked.first_response_at or now
    locked.status = Status.WAITING_ON_USER
    locked.save(update_fields=["first_response_at", "status", "updated_at"])
    escalation.refresh_from_db()
    publish_on_commit(locked)
    return message


@transaction.atomic
def escalation_resolve(*, escalation: Escalation, user: AbstractBaseUser, note: str) -> Escalation:
    note = (note or "").strip()
    if not note:
        raise ValidationError({"note": "Write a resolution note: what was wrong and what fixed it."})
    if len(note) > NOTE_MAX_CHARS:
        raise ValidationError({"note": f"A resolution note can be at most {NOTE_MAX_CHARS:,} characters."})
    locked = Escalation.objects.select_for_update().get(pk=escalation.pk)
    _require_in_queue(locked)
    is_admin = Membership.objects.filter(
        user=user, account_id=locked.account_id, role=Membership.Role.ADMIN
    ).exists()
    if locked.assignee_id not in (None, user.pk) and not is_admin:
        raise EscalationConflict(
            f"{_holder(locked)} has this escalation; only they or an admin can resolve it."
        )
    now = timezone.now()
    locked.assignee_id = locked.assignee_id or user.pk
    locked.status = Status.RESOLVED
    locked.resolved_by_phase = Phase.HUMAN
    locked.resolved_at = now
    locked.resolved_by = user
    locked.resolution_note = note
    locked.save()
    publish_on_commit(locked)
    escalation.refresh_from_db()
    return escalation


def escalation_user_replied(*, conversation_id: int) -> None:
    """The user wrote again in a conversation an operator answered: back to the operator."""
    for escalation in Escalation.objects.filter(
        conversation_id=conversation_id, status=Status.WAITING_ON_USER
    ):
        Escalation.objects.filter(pk=escalation.pk, status=Status.WAITING_ON_USER).update(
            status=Status.CLAIMED if escalation.assignee_id else Status.OPEN, updated_at=timezone.now()
        )
        publish_on_commit(escalation)


# --- the learning loop ---------------------------------------------------------------------------


def person_answer_for(escalation: Escalation) -> str:
    """What the person told the user: their replies since it reached the queue."""
    replies = Message.objects.filter(
        conversation_id=escalation.conversation_id,
        sent_by__isnull=False,
        created_at__gte=escalation.created_at,
    ).order_by("created_at", "id")
    return "\n\n".join(replies.values_list("content", flat=True))


def pattern_draft_for(escalation: Escalation) -> tuple[str, str]:
    """The pattern a resolved escalation suggests: the user's request, and the fix as the
    resolution note words it (what was wrong and what fixed it). The chat replies are
    progress updates to the user ("We are looking at the VPN now."), so they are only
    the fix when the note is empty."""
    return escalation.question, escalation.resolution_note.strip() or person_answer_for(escalation)


def pattern_promote(
    *, escalation: Escalation, user: AbstractBaseUser, problem: str | None = None, fix: str | None = None
) -> LearnedPattern:
    """A draft pattern from a resolved escalation: the request and fix the operator
    submitted (by default the draft of ``pattern_draft_for``). An admin approves it
    before Phase 1 answers with it."""
    if escalation.status != Status.RESOLVED or escalation.resolved_by_phase != Phase.HUMAN:
        raise EscalationConflict("Only an escalation a person resolved can be promoted to a pattern.")
    drafted_problem, drafted_fix = pattern_draft_for(escalation)
    problem = (drafted_problem if problem is None else problem).strip()
    fix = (drafted_fix if fix is None else fix).strip()
    _require_problem_and_fix(problem=problem, fix=fix)
    try:
        with transaction.atomic():
            pattern = LearnedPattern.objects.create(
                account_id=escalation.account_id,
                problem=problem,
                fix=fix,
                source_escalation=escalation,
                created_by=user,
            )
    except IntegrityError:
        raise EscalationConflict("This escalation was already promoted to a pattern.") from None
    publish_on_commit(escalation)
    return pattern


def _require_problem_and_fix(*, problem: str, fix: str) -> None:
    errors = {}
    if not problem.strip():
        errors["problem"] = "Say what the problem was."
    if not fix.strip():
        errors["fix"] = "Say what fixed it."
    if errors:
        raise ValidationError(errors)


def _require_admin(*, user: AbstractBaseUser, account_id: int) -> None:
    if not Membership.objects.filter(user=user, account_id=account_id, role=Membership.Role.ADMIN).exists():
        raise PermissionError("Only an admin of the account can approve or retire patterns.")


def pattern_edit(
    *, pattern: LearnedPattern, user: AbstractBaseUser, problem: str, fix: str
) -> LearnedPattern:
    """An admin rewords a pattern (a draft before approving it, or one already in use).
    The embedding follows the new problem text the next time patterns are matched."""
    _require_admin(user=user, account_id=pattern.account_id)
    problem, fix = problem.strip(), fix.strip()
    _require_problem_and_fix(problem=problem, fix=fix)
    pattern.problem, pattern.fix = problem, fix
    pattern.save(update_fields=["problem", "fix", "updated_at"])
    return pattern


def pattern_approve(
    *, pattern: LearnedPattern, user: AbstractBaseUser, problem: str | None = None, fix: str | None = None
) -> LearnedPattern:
    """Approve a pattern, with the admin's edits of its problem and fix when given."""
    _require_admin(user=user, account_id=pattern.account_id)
    if problem is not None or fix is not None:
        pattern_edit(
            pattern=pattern,
            user=user,
            problem=pattern.problem if problem is None else problem,
            fix=pattern.fix if fix is None else fix,
        )
    if not pattern.problem.strip() or not pattern.fix.strip():
        raise ValidationError({"fix": "A pattern needs both a problem and a fix before it is approved."})
    pattern.status = LearnedPattern.Status.APPROVED
    pattern.approved_by = user
    pattern.approved_at = timezone.now()
    pattern.save(update_fields=["status", "approved_by", "approved_at", "updated_at"])
    return pattern


def pattern_retire(*, pattern: LearnedPattern, user: AbstractBaseUser) -> LearnedPattern:
    _require_admin(user=user, account_id=pattern.account_id)
    pattern.status = LearnedPattern.Status.RETIRED
    pattern.save(update_fields=["status", "updated_at"])
    return pattern


def pattern_feedback_record(*, message: Message) -> None:
    """A thumbs-up on a quick fix counts as a success of the pattern that gave it."""
    escalation = (
        Escalation.objects.filter(answer_message=message, pattern_used__isnull=False)
        .select_related("pattern_used")
        .first()
    )
    if escalation is None or message.feedback != Message.Feedback.UP:
        return
    # Once per answer, however often the user toggles the thumb.
    if Escalation.objects.filter(pk=escalation.pk, pattern_success_counted=False).update(
        pattern_success_counted=True
    ):
        LearnedPattern.objects.filter(pk=escalation.pattern_used_id).update(
            success_count=F("success_count") + 1
        )
