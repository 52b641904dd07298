from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import Account
from agents.models import AgentInstance, KnowledgeArticle


def agent_default_for_account(*, account: Account) -> AgentInstance | None:
    agents = AgentInstance.objects.filter(account=account, status=AgentInstance.Status.ACTIVE)
    return agents.filter(is_default=True).first() or agents.first()


def knowledge_articles_for_account(*, account_id: int) -> QuerySet[KnowledgeArticle]:
    return KnowledgeArticle.objects.filter(account_id=account_id)


def knowledge_article_for_account(*, account_id: int, article_id: int) -> KnowledgeArticle | None:
    return KnowledgeArticle.objects.filter(account_id=account_id, pk=article_id).first()


def agents_active_for_account(*, account_id: int) -> QuerySet[AgentInstance]:
    return AgentInstance.objects.filter(account_id=account_id, status=AgentInstance.Status.ACTIVE)


def routing_profiles_for_account(*, account: Account) -> list:
    """The account's active agents as the router sees them (agents with no routing
    examples, like the general assistant, are not routed to)."""
    routable = [
        a for a in agents_active_for_account(account_id=account.pk).order_by("slug") if a.routing_examples
    ]
    if not routable:
        return []
    from agents.routing.router import AgentProfile

    return [
        AgentProfile(slug=a.slug, name=a.name, description=a.description, examples=tuple(a.routing_examples))
        for a in routable
    ]
