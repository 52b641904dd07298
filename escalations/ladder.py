"""The ladder: quick fix -> research agent -> three agents voting -> a person.

Each phase runs as a Celery task taking the escalation's id. A phase is durable work
(``durable``): claimed under a lease on its ``PhaseRun`` row, renewed by a heartbeat. A
redelivered task for a phase that is finished, or that a live worker holds, does nothing;
a phase whose worker died (lease passed) or whose task never ran is sent again by the
recovery scan (``phase_orphans`` and ``phase_resend``, the kind "escalation_phase").
Finishing a phase, recording its outcome and duration, and moving the escalation on is one
transaction.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.db import OperationalError, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

import durable
from agents.models import AgentInstance
from conversations.services import message_post
from escalations import detection
from escalations.models import LADDER, Escalation, PhaseRun
from escalations.models import Phase as P
from escalations.services import policy_for_account, publish_on_commit

logger = logging.getLogger(__name__)

Outcome = PhaseRun.Outcome

QUICK_FIX_PREFIX = "**Quick fix** (this solved the same problem before):\n\n"
RESEARCH_PREFIX = "**After looking into it** ({agent}):\n\n"
CONSULTATION_PREFIX = "**{agreed} of {total} agents agree**:\n\n"
HANDED_TO_PERSON = (
    "I've passed your request to a person on the {account} team. They'll answer here in this "
    "conversation; you can keep the page open or come back later."
)


@dataclass
class PhaseResult:
    outcome: str
    detail: str
    answer: str = ""
    score: float | None = None
    agent: AgentInstance | None = None
    pattern_id: int | None = None
    model: str = ""  # what produced the answer, shown with it in the chat
    waiting: bool = False  # the consultation waits for its consensus run to finish


LEASE = durable.LeaseTerms("ESCALATION_PHASE_LEASE_SECONDS", "ESCALATION_PHASE_MAX_ATTEMPTS")


# --- entering a phase ---------------------------------------------------------------------------


def ladder_enter(*, escalation: Escalation, phase: str) -> None:
    """Move the escalation to ``phase`` or, when the account's policy turns that phase off,
    to the next enabled one (the skipped ones are recorded), and queue it once committed."""
    from escalations.tasks import run_phase

    policy = policy_for_account(account_id=escalation.account_id)
    for candidate in LADDER[LADDER.index(phase) :]:
        if policy.phase_enabled(candidate):
            phase = candidate
            break
        PhaseRun.objects.get_or_create(
            escalation=escalation,
            phase=candidate,
            defaults={"outcome": Outcome.SKIPPED, "detail": "Turned off in the account's escalation policy.",
                      "finished_at": timezone.now(), "duration_ms": 0},
        )  # fmt: skip
    escalation.phase = phase
    escalation.save(update_fields=["phase", "updated_at"])
    escalation_id = escalation.pk
    transaction.on_commit(lambda: run_phase.delay(escalation_id, phase))
    publish_on_commit(escalation)


def ladder_cut_short(*, escalation_id: int, reason: str) -> bool:
    """Send an escalation still on the ladder straight to a person (the user asked for one):
    the phase under way is recorded as skipped, and its late result will find the escalation
    moved on and change nothing. Returns whether it did."""
    with transaction.atomic():
        escalation = Escalation.objects.select_for_update(of=("self",)).filter(pk=escalation_id).first()
        if escalation is None or escalation.status != Escalation.Status.LADDER or escalation.phase == P.HUMAN:
            return False
        now = timezone.now()
        for run in PhaseRun.objects.filter(escalation=escalation, outcome=Outcome.RUNNING):
            run.outcome, run.detail, run.finished_at = Outcome.SKIPPED, reason, now
            run.duration_ms = int((now - run.started_at).total_seconds() * 1000)
            durable.release_row(run)
        escalation.priority = max(escalation.priority, Escalation.Priority.HIGH)
        escalation.save(update_fields=["priority", "updated_at"])
        ladder_enter(escalation=escalation, phase=P.HUMAN)
    return True


# --- running one -------------------------------------------------------------------------------


def _phase_claim(escalation_id: int, phase: str) -> tuple[Escalation, PhaseRun] | None:
    with transaction.atomic():
        # The escalation's lock guards its phase run too (which may not exist yet).
        escalation = durable.lock(Escalation.objects.select_related("account", "conversation"), escalation_id)
        if escalation is None or escalation.status != Escalation.Status.LADDER or escalation.phase != phase:
            return None  # finished, moved on, or never meant for this phase
        run, _ = PhaseRun.objects.get_or_create(escalation=escalation, phase=phase)
        if run.outcome != Outcome.RUNNING:
            return None
        # Held by a live worker, or (no lease after an attempt) waiting on a consultation run.
        if run.attempts and durable.lease_state(run) != durable.LeaseState.EXPIRED:
            return None
        if LEASE.exhausted(run.attempts):
            result = PhaseResult(
                Outcome.FAILED, f"Interrupted {run.attempts} times (the worker stopped); given up."
            )
            _finish(escalation, run, result)
            return None
        durable.claim(run, terms=LEASE)
    return escalation, run


def phase_run(*, escalation_id: int, phase: str) -> None:
    """Run one phase of one escalation, if it is still due; idempotent."""
    claimed = _phase_claim(escalation_id, phase)
    if claimed is None:
        return
    escalation, run = claimed
    started = time.monotonic()
    # Renewed only while running with a lease: a consultation waiting on its run has none.
    heartbeat = durable.Heartbeat(
        PhaseRun.objects.filter(
            pk=run.pk, attempts=run.attempts, outcome=Outcome.RUNNING, lease_expires_at__isnull=False
        ),
        terms=LEASE,
        name=f"phase-lease-{run.pk}",
    )
    heartbeat.start()
    try:
        result = PHASES[phase](escalation=escalation, run=run)
    except OperationalError:
        # The database hiccuped: give the phase back so the task's retry can take it at once.
        durable.expire(PhaseRun.objects.filter(pk=run.pk, attempts=run.attempts))
        raise
    except Exception as exc:
        # A phase that cannot run must not strand the request: record why and go on up.
        logger.exception("phase %s of escalation %s failed", phase, escalation_id)
        result = PhaseResult(Outcome.FAILED, f"The phase failed: {str(exc)[:300] or type(exc).__name__}")
    finally:
        heartbeat.stop()
    logger.info(
        "escalation %s phase %s: %s in %.2f s",
        escalation_id,
        phase,
        result.outcome,
        time.monotonic() - started,
    )
    if result.waiting:
        return
    phase_finish(escalation_id=escalation_id, phase=phase, attempt=run.attempts, result=result)


def phase_finish(*, escalation_id: int, phase: str, attempt: int | None, result: PhaseResult) -> bool:
    """Record the phase's outcome and move the escalation on, if this attempt still owns
    the phase (``attempt`` None: whoever holds it). Returns whether it did."""
    with transaction.atomic():
        escalation = (
            Escalation.objects.select_for_update(of=("self",))
            .select_related("account", "conversation")
            .filter(pk=escalation_id)
            .first()
        )
        run = PhaseRun.objects.select_for_update().filter(escalation_id=escalation_id, phase=phase).first()
        if escalation is None or run is None or run.outcome != Outcome.RUNNING:
            return False
        if escalation.status != Escalation.Status.LADDER or escalation.phase != phase:
            return False
        if attempt is not None and run.attempts != attempt:
            return False
        _finish(escalation, run, result)
    return True


def _finish(escalation: Escalation, run: PhaseRun, result: PhaseResult) -> None:
    now = timezone.now()
    run.outcome = result.outcome
    run.detail = result.detail
    run.answer = result.answer
    run.score = result.score
    run.finished_at = now
    run.duration_ms = int((now - run.started_at).total_seconds() * 1000)
    durable.release_row(run)
    if result.outcome == Outcome.RESOLVED:
        _resolve_by_phase(escalation, run, result, now)
    elif result.outcome == Outcome.QUEUED:
        _hand_to_person(escalation, now)
    else:
        ladder_enter(escalation=escalation, phase=LADDER[LADDER.index(run.phase) + 1])
    publish_on_commit(escalation)


def _resolve_by_phase(escalation: Escalation, run: PhaseRun, result: PhaseResult, now) -> None:
    message = message_post(
        conversation=escalation.conversation,
        content=result.answer,
        agent=result.agent,
        model=result.model or run.get_phase_display().lower(),
    )
    escalation.status = Escalation.Status.RESOLVED
    escalation.resolved_by_phase = run.phase
    escalation.resolved_at = now
    escalation.answer_message = message
    escalation.pattern_used_id = result.pattern_id
    escalation.save()


def _hand_to_person(escalation: Escalation, now) -> None:
    from escalations.tasks import email_operators

    policy = policy_for_account(account_id=escalation.account_id)
    escalation.status = Escalation.Status.OPEN
    escalation.queued_at = now
    escalation.sla_targets_set(policy, now)
    escalation.email_status = Escalation.EmailStatus.PENDING if policy.email_operators else ""
    escalation.save()
    message_post(
        conversation=escalation.conversation, content=HANDED_TO_PERSON.format(account=escalation.account.name)
    )
    if policy.email_operators:
        escalation_id = escalation.pk
        transaction.on_commit(lambda: email_operators.delay(escalation_id))


# --- the phases --------------------------------------------------------------------------------


def phase_quick_fix(*, escalation: Escalation, run: PhaseRun) -> PhaseResult:
    from escalations.patterns import pattern_best_match

    policy = policy_for_account(account_id=escalation.account_id)
    # Patterns already tried in this conversation (disliked, since we are here again) are not offered twice.
    tried = set(
        Escalation.objects.filter(conversation_id=escalation.conversation_id, pattern_used__isnull=False)
        .exclude(pk=escalation.pk)
        .values_list("pattern_used_id", flat=True)
    )
    match = pattern_best_match(account_id=escalation.account_id, text=escalation.question, exclude_ids=tried)
    if match is None:
        return PhaseResult(Outcome.FELL_THROUGH, "No approved pattern in this account yet.")
    threshold = policy.quick_fix_threshold
    similarity = match.similarity
    summary = (
        f"Closest pattern #{match.pattern.pk} at similarity {similarity:.2f} (threshold {threshold:.2f})"
    )
    if match.similarity < threshold:
        return PhaseResult(Outcome.FELL_THROUGH, summary + ": not close enough.", score=match.similarity)
    type(match.pattern).objects.filter(pk=match.pattern.pk).update(times_used=F("times_used") + 1)
    return PhaseResult(
        Outcome.RESOLVED,
        summary + ".",
        answer=QUICK_FIX_PREFIX + match.pattern.fix,
        score=match.similarity,
        pattern_id=match.pattern.pk,
        model=f"learned pattern #{match.pattern.pk}",
    )


def phase_research(*, escalation: Escalation, run: PhaseRun) -> PhaseResult:
    from escalations.research import research_consult

    policy = policy_for_account(account_id=escalation.account_id)
    consultation = research_consult(escalation=escalation, policy=policy)
    if consultation is None:
        return PhaseResult(Outcome.SKIPPED, "The account has no active agent to research with.")
    threshold = policy.research_threshold
    confidence = consultation.confidence or 0.0
    summary = (
        f"{consultation.agent.name} answered with confidence {confidence:.2f} (threshold {threshold:.2f})"
    )
    if consultation.error:
        return PhaseResult(
            Outcome.FAILED, f"{consultation.agent.name} could not answer: {consultation.error}"
        )
    if detection.cannot_resolve(consultation.proposal):
        return PhaseResult(Outcome.FELL_THROUGH, summary + ": it could not answer.", score=confidence)
    if confidence < threshold:
        return PhaseResult(Outcome.FELL_THROUGH, summary + ": not sure enough.", score=confidence)
    return PhaseResult(
        Outcome.RESOLVED,
        summary + ".",
        answer=RESEARCH_PREFIX.format(agent=consultation.agent.name) + consultation.proposal,
        score=confidence,
        agent=consultation.agent,
        model=getattr(consultation, "model", ""),
    )


def phase_human(*, escalation: Escalation, run: PhaseRun) -> PhaseResult:
    return PhaseResult(Outcome.QUEUED, "In the operator queue.")


def _phase_consultation(*, escalation: Escalation, run: PhaseRun) -> PhaseResult:
    from escalations.consultation import consultation_start

    return consultation_start(escalation=escalation, run=run)


PHASES: dict[str, Callable[..., PhaseResult]] = {
    P.QUICK_FIX: phase_quick_fix,
    P.RESEARCH: phase_research,
    P.CONSULTATION: _phase_consultation,
    P.HUMAN: phase_human,
}


# --- recovery ----------------------------------------------------------------------------------


def phase_orphans() -> list[int]:
    """Escalations on the ladder whose current phase's worker died (lease passed) or whose
    phase task never ran (no attempt, and nothing changed for longer than a lease)."""
    current = PhaseRun.objects.filter(escalation=OuterRef("pk"), phase=OuterRef("phase"))
    on_ladder = Escalation.objects.filter(status=Escalation.Status.LADDER)
    dead = on_ladder.filter(
        Exists(current.filter(durable.orphans(terms=LEASE, running=Q(outcome=Outcome.RUNNING))))
    )
    never_ran = on_ladder.filter(updated_at__lte=LEASE.stale_before()).exclude(
        Exists(current.filter(attempts__gt=0))
    )
    return sorted(set(dead.values_list("pk", flat=True)) | set(never_ran.values_list("pk", flat=True)))


def phase_resend(escalation_id: int) -> bool:
    """Queue the escalation's current phase again; its claim lets one attempt run."""
    from escalations.tasks import run_phase

    phase = (
        Escalation.objects.filter(pk=escalation_id, status=Escalation.Status.LADDER)
        .values_list("phase", flat=True)
        .first()
    )
    if phase is None:
        return False  # it left the ladder since it was found
    transaction.on_commit(lambda: run_phase.delay(escalation_id, phase))
    return True
