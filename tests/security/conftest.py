"""Two tenants for the security suite: account A (whose users attack) and account B (whose
objects they aim at). Every text of B's carries ``LEAK``, so a response that shows any of B's
data is caught by a substring check, whatever the route."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from accounts.auth import api_token_create
from accounts.models import Account, Membership
from agents.mcp.models import McpServer, McpTool
from agents.models import (
    AgentInstance,
    AgentTemplate,
    KnowledgeArticle,
    KnowledgeChunk,
    KnowledgeCollection,
    KnowledgeDocument,
    Tool,
)
from analytics.models import (
    Alert,
    AlertRule,
    EvaluationCase,
    EvaluationDataset,
    EvaluationResult,
    EvaluationRun,
    Suggestion,
)
from analytics.release.models import ReadinessReport
from conversations.models import Approval, Conversation, Message, ToolCall, Turn
from escalations.models import Escalation, LearnedPattern
from orchestration.models import TaskRun, WorkflowRun
from rollout.models import Flag

LEAK = "b-secret-7f3a"  # in every text of account B's; never in a response to account A's users
_keys = itertools.count(1)


@dataclass
class Tenant:
    account: Account
    users: dict[str, object] = field(default_factory=dict)  # role name -> user
    agent: AgentInstance | None = None
    conversation: Conversation | None = None
    question: Message | None = None
    reply: Message | None = None
    approval: Approval | None = None
    run: WorkflowRun | None = None
    escalation: Escalation | None = None
    pattern: LearnedPattern | None = None
    alert_rule: AlertRule | None = None
    alert: Alert | None = None
    article: KnowledgeArticle | None = None
    knowledge_collection: KnowledgeCollection | None = None
    knowledge_document: KnowledgeDocument | None = None
    mcp_server: McpServer | None = None
    mcp_tool: McpTool | None = None
    suggestion: Suggestion | None = None
    readiness_report: ReadinessReport | None = None
    evaluation_dataset: EvaluationDataset | None = None
    evaluation_case: EvaluationCase | None = None
    evaluation_run: EvaluationRun | None = None
    evaluation_result: EvaluationResult | None = None

    @property
    def approval_id(self) -> str:
        # The public id once approvals have one (uuid in URLs), else the primary key.
        return str(getattr(self.approval, "public_id", None) or self.approval.pk)


def conversation_with_pending_approval(account: Account, user, agent: AgentInstance, text: str):
    """A conversation whose reply waits on the owner's approval of a gated tool call."""
    conversation = Conversation.objects.create(account=account, user=user, agent=agent, title=text)
    question = Message.objects.create(conversation=conversation, role="user", content=text)
    reply = Message.objects.create(
        conversation=conversation, role="assistant", status="complete", content=text, reply_to=question
    )
    turn = Turn.objects.create(reply=reply, conversation=conversation)
    call = ToolCall.objects.create(
        conversation=conversation,
        turn=turn,
        agent=agent,
        tool_slug="ticket_create",
        arguments={"title": text},
        idempotency_key=f"security-{next(_keys)}",
        status=ToolCall.Status.AWAITING_APPROVAL,
    )
    approval = Approval.objects.create(tool_call=call, conversation=conversation)
    return conversation, question, reply, approval


def run_of(account: Account, user, text: str, **fields) -> WorkflowRun:
    fields.setdefault("mode", WorkflowRun.Mode.PARALLEL)
    run = WorkflowRun.objects.create(account=account, request=text, started_by=user, **fields)
    TaskRun.objects.create(run=run, position=0, agent_slug="worker", input=text)
    return run


def build_tenant(slug: str, *, secret: str) -> Tenant:
    account = Account.objects.create(slug=slug, name=f"{slug.title()} {secret}")
    tenant = Tenant(account=account)
    for role in ("member", "member2", "operator", "admin"):
        # No password: the tests log in with force_login, and hashing eight passwords is slow.
        user = get_user_model().objects.create_user(username=f"{slug}-{role}", password=None)
        membership_role = role if role in ("operator", "admin") else Membership.Role.MEMBER
        Membership.objects.create(user=user, account=account, role=membership_role)
        tenant.users[role] = user
    template, _ = AgentTemplate.objects.get_or_create(slug="worker", version="1", defaults={"name": "Worker"})
    tenant.agent = AgentInstance.objects.create(
        account=account,
        template=template,
        slug=f"{slug}-agent",
        name=f"Agent {secret}",
        description=secret,
        system_prompt=f"You are secret: {secret}",
        routing_examples=[secret],
        config={"note": secret},
    )
    member = tenant.users["member"]
    tenant.conversation, tenant.question, tenant.reply, tenant.approval = conversation_with_pending_approval(
        account, member, tenant.agent, f"question {secret}"
    )
    tenant.run = run_of(account, member, f"run {secret}")
    tenant.escalation = Escalation.objects.create(
        account=account,
        conversation=tenant.conversation,
        message=tenant.question,
        trigger=Escalation.Trigger.MANUAL,
        reason=f"reason {secret}",
        question=f"escalated {secret}",
        status=Escalation.Status.OPEN,
    )
    tenant.pattern = LearnedPattern.objects.create(account=account, problem=f"problem {secret}", fix=secret)
    tenant.alert_rule = AlertRule.objects.create(account=account, kind="handoff_rate", threshold=0.3)
    now = timezone.now()
    tenant.alert = Alert.objects.create(
        account=account,
        rule=tenant.alert_rule,
        severity=tenant.alert_rule.severity,
        message=f"alert {secret}",
        value=0.5,
        last_value=0.5,
        fired_at=now,
        last_checked_at=now,
    )
    tenant.article = KnowledgeArticle.objects.create(
        account=account, slug=f"article-{account.slug}", title=f"article {secret}", body=f"body {secret}"
    )
    # A collection with one ready document and its chunk (rows only: nothing is embedded).
    tenant.knowledge_collection = KnowledgeCollection.objects.create(
        account=account, slug=f"docs-{account.slug}", name=f"docs {secret}"
    )
    tenant.knowledge_document = KnowledgeDocument.objects.create(
        account=account,
        collection=tenant.knowledge_collection,
        title=f"document {secret}",
        content_hash=secret,
        status=KnowledgeDocument.Status.READY,
        chunk_count=1,
    )
    KnowledgeChunk.objects.create(
        account=account,
        collection=tenant.knowledge_collection,
        document=tenant.knowledge_document,
        position=0,
        text=f"chunk {secret}",
        embedding=bytes(384 * 4),
    )
    # An MCP server of the account with one discovered tool (rows only: no server is called).
    tenant.mcp_server = McpServer.objects.create(
        account=account, slug=f"mcp-{account.slug}", name=f"mcp {secret}", url="http://127.0.0.1:9/mcp"
    )
    tenant.mcp_tool = McpTool.objects.create(
        server=tenant.mcp_server, name=f"tool-{account.slug}", description=secret,
        tool=Tool.objects.create(
            slug=f"mcp-{account.slug}__tool", name=f"tool {secret}", description=secret, handler="mcp"
        ),
    )  # fmt: skip
    tenant.suggestion = Suggestion.objects.create(
        account=account,
        kind=Suggestion.Kind.PATTERN,
        key=f"pattern:{tenant.pattern.pk}",
        pattern=tenant.pattern,
        title=f"suggestion {secret}",
        changed_at=now,
    )
    tenant.evaluation_dataset = EvaluationDataset.objects.create(account=account, name=f"dataset {secret}")
    tenant.evaluation_case = EvaluationCase.objects.create(
        dataset=tenant.evaluation_dataset, key=f"case-{secret}", turns=[f"case {secret}"]
    )
    tenant.evaluation_run = EvaluationRun.objects.create(
        account=account, dataset=tenant.evaluation_dataset, dataset_version=1, started_by=member,
        status=EvaluationRun.Status.COMPLETE, total=1, done=1, finished_at=now,
        figures={"total": 1, "passed": 0, "pass_rate": 0.0, "per_agent": []},
    )  # fmt: skip
    tenant.evaluation_result = EvaluationResult.objects.create(
        run=tenant.evaluation_run, case_key=f"case-{secret}", status=EvaluationResult.Status.FAILED,
        conversation=tenant.conversation, answer=f"answer {secret}",
        expectations={"message": f"case {secret}"},
    )  # fmt: skip
    tenant.readiness_report = ReadinessReport.objects.create(
        account=account, source="command", score=0, status="NOT_READY",
        checks=[{"key": "worker", "label": "worker", "status": "fail", "evidence": f"evidence {secret}"}],
    )  # fmt: skip
    return tenant


@pytest.fixture
def tenants(db) -> tuple[Tenant, Tenant]:
    Flag.objects.get_or_create(key="multi_agent")
    return build_tenant("ayy", secret="a-own-data"), build_tenant("bee", secret=LEAK)


def _rows(queryset, *fields) -> list[tuple]:
    return list(queryset.order_by("pk").values_list("pk", *fields))


def b_snapshot(b: Tenant) -> dict:
    """Everything about account B that a request from account A could change."""
    account = b.account
    return {
        "messages": _rows(Message.objects.filter(conversation__account=account), "content", "feedback"),
        "conversations": _rows(Conversation.objects.filter(account=account), "title"),
        "approvals": _rows(Approval.objects.filter(conversation__account=account), "decision"),
        "runs": _rows(WorkflowRun.objects.filter(account=account), "status"),
        "tasks": _rows(TaskRun.objects.filter(run__account=account), "status"),
        "escalations": _rows(Escalation.objects.filter(account=account), "status", "assignee", "priority"),
        "patterns": _rows(LearnedPattern.objects.filter(account=account), "status"),
        "alert_rules": _rows(
            AlertRule.objects.filter(account=account), "threshold", "enabled", "severity", "silenced_until"
        ),
        "alerts": _rows(Alert.objects.filter(account=account), "status", "acknowledged_at"),
        "articles": _rows(KnowledgeArticle.objects.filter(account=account), "title", "body"),
        "suggestions": _rows(Suggestion.objects.filter(account=account), "status", "decided_at"),
        "readiness_reports": _rows(ReadinessReport.objects.filter(account=account), "score", "checks"),
        "evaluation_datasets": _rows(EvaluationDataset.objects.filter(account=account), "name", "version"),
        "evaluation_cases": _rows(EvaluationCase.objects.filter(dataset__account=account), "key", "turns"),
        "evaluation_runs": _rows(EvaluationRun.objects.filter(account=account), "status"),
        "agents": _rows(AgentInstance.objects.filter(account=account), "slug", "system_prompt", "status"),
        "memberships": _rows(Membership.objects.filter(account=account), "user", "role"),
        "flag_changes": _flag_changes(account),
    }


def _flag_changes(account: Account) -> int:
    from rollout.models import FlagChange

    return FlagChange.objects.filter(account=account).count()


def web_client(user) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def api_headers(user) -> dict[str, str]:
    if user is None:
        return {}
    _, raw = api_token_create(user=user, name="security")
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
