"""Phase 3: three agents consulted in parallel as one consensus run of the orchestration
app (its voting, not a second one). The run's ``run_finished`` signal brings the ladder
back here, through a Celery task once committed, to store every vote and decide."""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from agents.models import AgentInstance
from escalations import detection
from escalations.models import AgentConsultation, Escalation, EscalationPolicy, Phase, PhaseRun
from escalations.research import escalation_prompt

CONSULTED = 3
CONSULTATION_INSTRUCTION = (
    "You are one of three agents consulted independently; the answer is used only if you agree. "
    "Give the answer the user needs in one or two short sentences, with no preamble. "
    "If you cannot answer it, reply exactly: I cannot resolve this."
)


def consultation_agents(policy: EscalationPolicy) -> list[AgentInstance]:
    """The policy's agents (active ones), filled up to three with the account's other
    active agents."""
    active = AgentInstance.objects.filter(account_id=policy.account_id, status=AgentInstance.Status.ACTIVE)
    chosen = list(active.filter(pk__in=policy.consultation_agents.values("pk")).order_by("pk")[:CONSULTED])
    if len(chosen) < CONSULTED:
        others = active.exclude(pk__in=[a.pk for a in chosen]).order_by("is_default", "pk")
        chosen += list(others[: CONSULTED - len(chosen)])
    return chosen


def consultation_prompt(escalation: Escalation) -> str:
    from escalations.research import CONFIDENCE_INSTRUCTION

    return escalation_prompt(escalation).replace(CONFIDENCE_INSTRUCTION, CONSULTATION_INSTRUCTION)


def consultation_start(*, escalation: Escalation, run: PhaseRun):
    """Start the consensus run (once: a resumed phase finds it on the escalation)."""
    from escalations.ladder import PhaseResult
    from escalations.services import policy_for_account
    from orchestration.services import run_start

    if escalation.workflow_run_id:
        return PhaseResult(PhaseRun.Outcome.RUNNING, run.detail, waiting=True)
    policy = policy_for_account(account_id=escalation.account_id)
    agents = consultation_agents(policy)
    if len(agents) < CONSULTED:
        return PhaseResult(
            PhaseRun.Outcome.SKIPPED, f"Needs {CONSULTED} active agents; the account has {len(agents)}."
        )
    prompt = consultation_prompt(escalation)
    required = policy.consultation_required_votes
    judge = policy.consultation_judge
    judge_slug = judge.slug if judge is not None and judge.status == AgentInstance.Status.ACTIVE else ""
    with transaction.atomic():
        workflow_run = run_start(
            account=escalation.account,
            mode="consensus",
            tasks=[{"agent": a.slug, "capability": None, "description": "", "input": prompt} for a in agents],
            # Between the needed share and the one below it, so a float comparison cannot
            # tip it: 2 of 3 -> 0.5, 3 of 3 -> 0.83.
            min_agreement=(required - 0.5) / len(agents),
            conversation=escalation.conversation,
            request=f"Escalation #{escalation.pk}: {escalation.question[:300]}",
            judge=judge_slug,
        )
        detail = (
            f"Consensus run #{workflow_run.pk}: {', '.join(a.name for a in agents)} consulted in parallel; "
            f"{required} of {len(agents)} must agree"
            + (f", as {judge.name} judges which answers mean the same." if judge_slug else ".")
        )
        Escalation.objects.filter(pk=escalation.pk).update(workflow_run=workflow_run)
        # No lease while the run is under way: the run's own tasks have theirs.
        PhaseRun.objects.filter(pk=run.pk).update(lease_expires_at=None, detail=detail)
    return PhaseResult(PhaseRun.Outcome.RUNNING, detail, waiting=True)


def consultation_collect(*, escalation_id: int) -> bool:
    """Store every agent's proposal and vote, then use the consensus answer or go on up.
    Idempotent: a second call finds the phase finished. Returns whether it finished it."""
    from escalations.ladder import PhaseResult, phase_finish
    from orchestration.models import RunStatus

    escalation = Escalation.objects.select_related("workflow_run").filter(pk=escalation_id).first()
    workflow_run = escalation.workflow_run if escalation else None
    if workflow_run is None or not workflow_run.is_final:
        return False
    result = workflow_run.result or {}
    votes = {v["task_id"]: v for v in result.get("votes", [])}
    tasks = list(workflow_run.tasks.select_related("agent").order_by("position", "id"))
    for task in tasks:
        vote = votes.get(task.pk, {})
        AgentConsultation.objects.update_or_create(
            task_run_id=task.pk,
            defaults={
                "escalation": escalation, "phase": Phase.CONSULTATION, "agent": task.agent,
                "proposal": task.result, "vote": (vote.get("normalised") or "")[:200],
                "agreed": vote.get("vote") if vote else None, "status": task.status, "error": task.error,
                "started_at": task.started_at, "finished_at": task.finished_at,
                "duration_ms": None if task.duration_seconds is None else int(task.duration_seconds * 1000),
            },
        )  # fmt: skip
    agreed = sum(1 for v in votes.values() if v.get("vote"))
    share = f"{agreed} of {len(tasks)} agreed"
    judged = result.get("judge") or {}
    if judged:
        share += (
            f" ({judged.get('agent')} judged)" if judged.get("used") else " (the judge's reply was unusable)"
        )
    answer = result.get("answer") or ""
    if workflow_run.status != RunStatus.COMPLETED:
        outcome = PhaseResult(
            PhaseRun.Outcome.FAILED,
            f"Consensus run #{workflow_run.pk} {workflow_run.status}: {workflow_run.error}",
        )
    elif result.get("consensus") and detection.cannot_resolve(answer):
        outcome = PhaseResult(
            PhaseRun.Outcome.FELL_THROUGH,
            f"{share}, that they cannot resolve it.",
            score=result.get("agreement"),
        )
    elif result.get("consensus"):
        from escalations.ladder import CONSULTATION_PREFIX

        outcome = PhaseResult(
            PhaseRun.Outcome.RESOLVED,
            f"{share} (run #{workflow_run.pk}).",
            answer=CONSULTATION_PREFIX.format(agreed=agreed, total=len(tasks)) + answer,
            score=result.get("agreement"),
            model=next((t.model for t in tasks if t.model), ""),
        )
    else:
        outcome = PhaseResult(
            PhaseRun.Outcome.FELL_THROUGH, f"Only {share}: no consensus.", score=result.get("agreement")
        )
    return phase_finish(escalation_id=escalation_id, phase=Phase.CONSULTATION, attempt=None, result=outcome)


def consultation_orphans() -> list[int]:
    """Consultations whose run finished while no one was listening (a worker died between
    the run's end and our task)."""
    from orchestration.models import FINAL_STATUSES

    return list(
        Escalation.objects.filter(
            status=Escalation.Status.LADDER,
            phase=Phase.CONSULTATION,
            workflow_run__status__in=FINAL_STATUSES,
            workflow_run__finished_at__lte=timezone.now() - timedelta(seconds=30),
        ).values_list("pk", flat=True)
    )


def consultation_resend(escalation_id: int) -> bool:
    """Collect it now (idempotent: a second collection finds the phase finished)."""
    from escalations.tasks import collect_consultation

    transaction.on_commit(lambda: collect_consultation.delay(escalation_id))
    return True


def on_run_finished(sender, run, **kwargs) -> None:
    """``orchestration.signals.run_finished`` receiver: the ladder goes on from a task."""
    from escalations.tasks import collect_consultation

    escalation_ids = list(Escalation.objects.filter(workflow_run_id=run.pk).values_list("pk", flat=True))
    for escalation_id in escalation_ids:
        transaction.on_commit(lambda e=escalation_id: collect_consultation.delay(e))
