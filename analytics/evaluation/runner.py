"""Evaluation runs: started (one pending result per case), then executed on the workers in
batches, each case in a hidden conversation (purpose "evaluation") through the real turn engine
(``conversations.replies.reply_generate``): its gated tools are simulated, never run.

A run is durable work: each batch runs under a lease that a heartbeat renews, and a run whose
worker died (lease passed) or whose next batch's message was lost is re-sent by the recovery
scan (registered as the kind "evaluation_run"); it resumes at the first case without a finished
result. A case that was half-way through starts again in a fresh conversation.
"""

from __future__ import annotations

import logging
import time
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

import durable
from accounts.models import Account, Membership
from agents.selectors import agent_default_for_account
from analytics.evaluation.datasets import case_as_dict
from analytics.evaluation.figures import run_figures
from analytics.evaluation.grading import grade, observe
from analytics.evaluation.models import EvaluationDataset, EvaluationResult, EvaluationRun
from analytics.evaluation.realtime import publish_evaluation_progress
from conversations.models import Conversation, Message
from conversations.replies import reply_generate

logger = logging.getLogger(__name__)

LEASE = durable.LeaseTerms("EVALUATION_LEASE_SECONDS")
Status = EvaluationRun.Status


class EvaluationRunError(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def _runner_user(account: Account, user: AbstractBaseUser | None) -> AbstractBaseUser:
    """Whose name the hidden conversations carry: who started the run, else an admin of the account."""
    if user is not None:
        return user
    membership = (
        Membership.objects.filter(account=account, role=Membership.Role.ADMIN).select_related("user").first()
    )
    if membership is None:
        raise EvaluationRunError("user", "the account has no admin to run the evaluation as; name a user")
    return membership.user


def evaluation_run_start(
    *, account: Account, dataset: EvaluationDataset, user: AbstractBaseUser | None = None, queue: bool = True
) -> EvaluationRun:
    """Queue a run of every case of the dataset (as it is now); the workers take it on commit
    (``queue=False``: the caller runs it, as ``eval_run --inline`` does)."""
    from analytics.evaluation.tasks import evaluation_run_advance

    if dataset.account_id != account.pk:
        raise EvaluationRunError("dataset", "no such dataset in this account")
    cases = list(dataset.cases.all())
    if not cases:
        raise EvaluationRunError("dataset", "the dataset has no cases")
    if agent_default_for_account(account=account) is None:
        raise EvaluationRunError("dataset", "the account has no active agent to answer")
    with transaction.atomic():
        run = EvaluationRun.objects.create(
            account=account,
            dataset=dataset,
            dataset_version=dataset.version,
            started_by=_runner_user(account, user),
            total=len(cases),
        )
        EvaluationResult.objects.bulk_create(
            EvaluationResult(run=run, case_key=case.key, position=index, expectations=case_as_dict(case))
            for index, case in enumerate(cases, start=1)
        )
        if queue:
            transaction.on_commit(lambda: evaluation_run_advance.delay(run.pk))
    return run


def _claim(run_id: int) -> EvaluationRun | None:
    """Take the run for a batch, or None: it is over, or a live worker holds it."""
    with transaction.atomic():
        run = durable.lock(EvaluationRun.objects.all(), run_id)
        if run is None or run.status in (Status.COMPLETE, Status.FAILED):
            return None
        if durable.lease_state(run) == durable.LeaseState.LIVE:
            return None
        run.status = Status.RUNNING
        run.started_at = run.started_at or timezone.now()
        durable.claim(run, terms=LEASE, update_fields=["status", "started_at"])
    publish_evaluation_progress(run_id=run.pk)
    return run


def _owned(run: EvaluationRun):
    return EvaluationRun.objects.filter(pk=run.pk, attempts=run.attempts, status=Status.RUNNING)


def evaluation_run_advance(*, run_id: int) -> bool:
    """Run the next batch of cases; True when more remain (the caller queues the next batch)."""
    run = _claim(run_id)
    if run is None:
        return False
    heartbeat = durable.Heartbeat(_owned(run), terms=LEASE, name=f"evaluation-{run.pk}")
    heartbeat.start()
    budget_ends = time.monotonic() + settings.EVALUATION_BATCH_SECONDS
    try:
        pending = run.results.filter(status=EvaluationResult.Status.PENDING).order_by("position", "id")
        for result in pending.iterator():
            if heartbeat.lost:
                return False
            _case_execute(run, result)
            if time.monotonic() > budget_ends:
                break
    except Exception as exc:
        logger.exception("evaluation run %s failed", run.pk)
        durable.release(_owned(run), status=Status.FAILED, error=str(exc)[:500], finished_at=timezone.now())
        publish_evaluation_progress(run_id=run.pk)
        return False
    finally:
        heartbeat.stop()
    if run.results.filter(status=EvaluationResult.Status.PENDING).exists():
        durable.release(_owned(run))  # the next batch claims it again
        return True
    results = list(run.results.all())
    figures = run_figures(results)
    durable.release(
        _owned(run),
        status=Status.COMPLETE,
        figures=figures,
        passed=figures["passed"],
        finished_at=timezone.now(),
    )
    publish_evaluation_progress(run_id=run.pk)
    return False


def _case_execute(run: EvaluationRun, result: EvaluationResult) -> None:
    """One case, start to finish, in a fresh hidden conversation; its result is graded and saved."""
    if result.conversation_id:
        # Half-way through when its worker died: whatever is still in flight there is dropped.
        Message.objects.filter(conversation_id=result.conversation_id, status__in=Message.IN_FLIGHT).update(
            cancel_requested=True
        )
    account = run.account
    conversation = Conversation.objects.create(
        account=account,
        user_id=run.started_by_id,
        title=f"Evaluation run #{run.pk}: {result.case_key}"[:200],
        agent=agent_default_for_account(account=account),
        routed=True,
        arm=Conversation.Arm.MULTI_AGENT,
        # Hidden: nobody sees it, so its gated tools are simulated, never executed or approved.
        purpose=Conversation.Purpose.EVALUATION,
    )
    EvaluationResult.objects.filter(pk=result.pk).update(conversation=conversation)
    replies: list[int] = []
    for text in result.expectations.get("turns") or [result.expectations.get("message", "")]:
        question = Message.objects.create(conversation=conversation, role=Message.Role.USER, content=text)
        reply = Message.objects.create(
            conversation=conversation,
            role=Message.Role.ASSISTANT,
            status=Message.Status.PENDING,
            agent=conversation.agent,
            reply_to=question,
        )
        reply_generate(message_id=reply.pk)
        replies.append(reply.pk)
        conversation.refresh_from_db(fields=["agent"])
        if (
            Message.objects.filter(pk=reply.pk).values_list("status", flat=True).first()
            != Message.Status.COMPLETE
        ):
            break
    written = list(
        Message.objects.filter(pk__in=replies).select_related("turn", "agent").order_by("created_at", "id")
    )
    observed = observe(replies=written, account_id=account.pk)
    checks = grade(expectations=result.expectations, observed=observed)
    passed = all(check["passed"] for check in checks)
    with transaction.atomic():
        EvaluationResult.objects.filter(pk=result.pk).update(
            status=EvaluationResult.Status.PASSED if passed else EvaluationResult.Status.FAILED,
            checks=checks, answer=observed.answer, agent=observed.agent, out_of_scope=observed.out_of_scope,
            sources=observed.sources, tool_calls=observed.tool_calls, latency_ms=observed.latency_ms,
            prompt_tokens=observed.prompt_tokens, completion_tokens=observed.completion_tokens,
            cost_usd=Decimal(str(round(observed.cost_usd, 6))), finished_at=timezone.now(),
        )  # fmt: skip
        EvaluationRun.objects.filter(pk=run.pk).update(done=F("done") + 1, passed=F("passed") + int(passed))
        transaction.on_commit(lambda: publish_evaluation_progress(run_id=run.pk, result_id=result.pk))


# -- recovery ----------------------------------------------------------------------------------


def evaluation_run_orphans() -> list[int]:
    """Runs whose worker died under a lease, and runs waiting for a batch whose message may be lost."""
    running = Q(status=Status.RUNNING)
    waiting = Q(status__in=[Status.QUEUED, Status.RUNNING], lease_expires_at__isnull=True)
    found = durable.orphans(terms=LEASE, running=running, waiting=waiting, waiting_since="created_at")
    return list(EvaluationRun.objects.filter(found).values_list("pk", flat=True))


def evaluation_run_resend(run_id: int) -> bool:
    from analytics.evaluation.tasks import evaluation_run_advance

    evaluation_run_advance.delay(run_id)
    return True
