"""The ladder: quick fix -> research agent -> three agents voting -> a person.

Each phase runs as a Celery task taking the escalation's id. A phase is claimed under a
lease on its ``PhaseRun`` row: a redelivered task for a phase that is finished, or that
a live worker holds, does nothing; a phase whose worker died (lease passed) is run again
by ``ladder_recover`` (at worker start and from beat). Finishing a phase, recording its
outcome and duration, and moving the escalation on is one transaction.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import OperationalError, connections, transaction
from django.utils import timezone

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


def _lease() -> datetime:
    return timezone.now() + timedelta(seconds=settings.ESCALATION_PHASE_LEASE_SECONDS)


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
            run.outcome, run.detail, run.finished_at, run.lease_expires_at = (
                Outcome.SKIPPED,
                reason,
                now,
                None,
            )
            run.duration_ms = int((now - run.started_at).total_seconds() * 1000)
            run.save()
        escalation.priority = max(escalation.priority, Escalation.Priority.HIGH)
        escalation.save(update_fields=["priority", "updated_at"])
        ladder_enter(escalation=escalation, phase=P.HUMAN)
    return True


# --- running one -------------------------------------------------------------------------------


def _phase_claim(escalation_id: int, phase: str) -> tuple[Escalation, PhaseRun] | None:
    now = timezone.now()
    with transaction.atomic():
        escalation = (
            Escalation.objects.select_for_update(of=("self",))
            .select_related("account", "conversation")
            .filter(pk=escalation_id)
            .first()
        )
        if escalation is None or escalation.status != Escalation.Status.LADDER or escalation.phase != phase:
            return None  # finished, moved on, or never meant for this phase
        run, _ = PhaseRun.objects.get_or_create(escalation=escalation, phase=phase)
        if run.outcome != Outcome.RUNNING:
            return None
        held = run.lease_expires_at is not None and run.lease_expires_at > now
        waiting = run.attempts and run.lease_expires_at is None  # a consultation run is under way
        if run.attempts and (held or waiting):
            return None
        if run.attempts >= settings.ESCALATION_PHASE_MAX_ATTEMPTS:
            result = PhaseResult(
                Outcome.FAILED, f"Interrupted {run.attempts} times (the worker stopped); given up."
            )
            _finish(escalation, run, result)
            return None
        run.attempts += 1
        run.lease_expires_at = _lease()
        run.save(update_fields=["attempts", "lease_expires_at"])
    return escalation, run


def phase_run(*, escalation_id: int, phase: str) -> None:
    """Run one phase of one escalation, if it is still due; idempotent."""
    claimed = _phase_claim(escalation_id, phase)
    if claimed is None:
        return
    escalation, run = claimed
    started = time.monotonic()
    heartbeat = _PhaseHeartbeat(run)
    heartbeat.start()
    try:
        result = PHASES[phase](escalation=escalation, run=run)
    except OperationalError:
        # The database hiccuped: give the phase back so the task's retry can take it at once.
        PhaseRun.objects.filter(pk=run.pk, attempts=run.attempts).update(lease_expires_at=timezone.now())
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


class _PhaseHeartbeat(threading.Thread):
    """Renews the phase's lease while this attempt runs (a slow model call included), so
    only a phase whose worker really stopped is taken over."""

    def __init__(self, run: PhaseRun) -> None:
        super().__init__(name=f"phase-lease-{run.pk}", daemon=True)
        self.run_id, self.attempt = run.pk, run.attempts
        self.stopped = threading.Event()

    def run(self) -> None:
        try:
            while not self.stopped.wait(settings.ESCALATION_PHASE_LEASE_SECONDS / 3):
                # Only while running with a lease: a consultation waiting on its run has none.
                PhaseRun.objects.filter(
                    pk=self.run_id,
                    attempts=self.attempt,
                    outcome=Outcome.RUNNING,
                    lease_expires_at__isnull=False,
                ).update(lease_expires_at=_lease())
        finally:
            connections.close_all()  # this thread's own connection

    def stop(self) -> None:
        self.stopped.set()


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
    run.lease_expires_at = None
    run.save()
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
    from django.db.models import F

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


def ladder_recover() -> list[int]:
    """Queue again every phase whose worker died (lease passed) or whose task never ran;
    returns the escalations' ids. Safe anywhere, any time: the claim lets one attempt run."""
    from escalations.tasks import run_phase

    now = timezone.now()
    stale = now - timedelta(seconds=settings.ESCALATION_PHASE_LEASE_SECONDS)
    due: list[tuple[int, str]] = []
    for escalation in Escalation.objects.filter(status=Escalation.Status.LADDER).only(
        "pk", "phase", "updated_at"
    ):
        run = PhaseRun.objects.filter(escalation=escalation, phase=escalation.phase).first()
        orphaned = run is not None and run.outcome == Outcome.RUNNING and run.lease_expires_at is not None
        orphaned = orphaned and run.lease_expires_at <= now
        never_ran = (run is None or run.attempts == 0) and escalation.updated_at <= stale
        if orphaned or never_ran:
            due.append((escalation.pk, escalation.phase))
    for escalation_id, phase in due:
        transaction.on_commit(lambda e=escalation_id, p=phase: run_phase.delay(e, p))
    from escalations.consultation import consultations_recover

    return [e for e, _ in due] + consultations_recover()
