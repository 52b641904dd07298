from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import Account
from agents.models import AgentInstance, KnowledgeArticle


def agent_default_for_account(*, account: Account) -> AgentInstance | None:
    agents = AgentInstance.objects.filter(account=account, status=AgentInstance.Status.ACTIVE)
    return agents.filter(is_default=True).first() or agents.first()


def knowledge_articles_for_account(*, account_id: int) -> QuerySet[KnowledgeArticle]:
    return KnowledgeArticle.objects.filter(account_id=account_id)
