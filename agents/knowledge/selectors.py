"""Reads of the knowledge base, every one scoped to an account."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from agents.models import KnowledgeChunk, KnowledgeCollection, KnowledgeDocument


def collections_for_account(*, account_id: int) -> QuerySet[KnowledgeCollection]:
    return KnowledgeCollection.objects.filter(account_id=account_id).prefetch_related("readers")


def collection_for_account(*, account_id: int, collection_id: int) -> KnowledgeCollection | None:
    return collections_for_account(account_id=account_id).filter(pk=collection_id).first()


def collections_readable(
    *, account_id: int, agent_slug: str | None, agent_id: int | None = None
) -> list[int]:
    """Ids of the collections an agent reads: those open to every agent, and those naming it
    (by slug, or by id as a tool call knows its agent). With no agent (an account-level search,
    e.g. the Knowledge page): all of the account's."""
    collections = KnowledgeCollection.objects.filter(account_id=account_id)
    if agent_slug is not None:
        collections = collections.filter(Q(all_agents=True) | Q(readers__slug=agent_slug))
    if agent_id is not None:
        collections = collections.filter(Q(all_agents=True) | Q(readers__id=agent_id))
    return sorted(set(collections.values_list("id", flat=True)))


def documents_for_account(*, account_id: int) -> QuerySet[KnowledgeDocument]:
    return (
        KnowledgeDocument.objects.filter(account_id=account_id).select_related("collection").defer("content")
    )


def document_for_account(*, account_id: int, document_id: int) -> KnowledgeDocument | None:
    return documents_for_account(account_id=account_id).filter(pk=document_id).first()


def document_chunks(*, document: KnowledgeDocument) -> QuerySet[KnowledgeChunk]:
    return KnowledgeChunk.objects.filter(account_id=document.account_id, document=document).defer("embedding")
