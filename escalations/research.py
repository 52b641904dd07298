"""Asking agents about an escalated request: the prompt they get, and Phase 2 (one
research agent, whose stated or estimated confidence decides whether its answer is used)."""

from __future__ import annotations

from django.utils import timezone

from agents.llm.gateway import LLMError
from agents.models import AgentInstance, AgentTemplate
from escalations import detection
from escalations.models import AgentConsultation, Escalation, EscalationPolicy, Phase

CONTEXT_MESSAGES = 6
CONFIDENCE_INSTRUCTION = (
    "Answer the request above for the user, as well as you can. If you cannot answer it, say so "
    "plainly. End with a line of its own: Confidence: N% (how sure you are the answer is right)."
)


def escalation_prompt(escalation: Escalation) -> str:
    """The request first (a model retrieving by the text finds it), then what the user
    said before it, then the instruction."""
    earlier = list(
        escalation.conversation.messages.filter(role="user", pk__lt=escalation.message_id)
        .exclude(content=escalation.question)
        .order_by("-pk")
        .values_list("content", flat=True)[:CONTEXT_MESSAGES]
    )
    parts = [escalation.question]
    if earlier:
        parts.append("Earlier, the user said:\n" + "\n".join(f"- {text}" for text in reversed(earlier)))
    parts.append(CONFIDENCE_INSTRUCTION)
    return "\n\n".join(parts)


def research_agent_for(policy: EscalationPolicy) -> AgentInstance | None:
    """The policy's research agent, else the account's research-kind agent, else its default."""
    active = AgentInstance.objects.filter(account_id=policy.account_id, status=AgentInstance.Status.ACTIVE)
    if policy.research_agent_id:
        chosen = active.filter(pk=policy.research_agent_id).first()
        if chosen is not None:
            return chosen
    return (
        active.filter(template__workflow_kind=AgentTemplate.WorkflowKind.RESEARCH).order_by("pk").first()
        or active.filter(is_default=True).first()
        or active.order_by("pk").first()
    )


def answer_confidence(question: str, text: str) -> tuple[float, str, str]:
    """(confidence, answer without the confidence line, how it was known). A stated
    confidence is used as stated; an answer that says it cannot help is 0; otherwise it
    is estimated as how closely the answer is about the question (MiniLM cosine)."""
    stated, answer = detection.stated_confidence(text)
    if stated is not None:
        return stated, answer, "stated"
    if detection.cannot_resolve(answer) or not answer.strip():
        return 0.0, answer, "cannot answer"
    from escalations.patterns import text_similarity

    return max(0.0, min(1.0, text_similarity(question, answer))), answer, "estimated from relevance"


def research_consult(*, escalation: Escalation, policy: EscalationPolicy) -> AgentConsultation | None:
    from orchestration.execution import agent_answer

    agent = research_agent_for(policy)
    if agent is None:
        return None
    started = timezone.now()
    consultation = AgentConsultation(
        escalation=escalation, phase=Phase.RESEARCH, agent=agent, started_at=started
    )
    try:
        answer = agent_answer(agent=agent, prompt=escalation_prompt(escalation))
    except LLMError as exc:
        consultation.status, consultation.error = "failed", str(exc)
    else:
        confidence, text, source = answer_confidence(escalation.question, answer.text)
        consultation.proposal, consultation.confidence, consultation.status = text, confidence, "completed"
        consultation.model = answer.model  # not stored: shown with the answer in the chat
        consultation.confidence_source = source
    consultation.finished_at = timezone.now()
    consultation.duration_ms = int((consultation.finished_at - started).total_seconds() * 1000)
    # A resumed phase replaces the proposal its interrupted attempt may have left.
    AgentConsultation.objects.filter(escalation=escalation, phase=Phase.RESEARCH).delete()
    consultation.save()
    return consultation
