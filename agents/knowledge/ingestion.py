"""Writes of the knowledge base: collections, documents, and the ingestion that turns a document
into stored chunks and embeddings (parsed, chunked, embedded: n of m, published as it goes).

Uploads are checked here, before anything is saved (format, size, emptiness: a ValidationError
naming the field). Parsing problems found by the worker (a malformed PDF) mark the document
failed with the reason and leave it with no chunks. The chunks of a document are replaced in one
transaction, so a search sees the old set or the new one, never half of either.
"""

from __future__ import annotations

import hashlib
import logging

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils.text import slugify

from agents.knowledge import realtime as knowledge_realtime
from agents.knowledge import store
from agents.knowledge.embeddings import embed
from agents.knowledge.parsing import DocumentUnreadable, chunks_of, document_text, format_for_filename
from agents.models import (
    AgentInstance,
    KnowledgeArticle,
    KnowledgeChunk,
    KnowledgeCollection,
    KnowledgeDocument,
)

logger = logging.getLogger(__name__)

EMBED_BATCH = 64


def max_document_bytes() -> int:
    return int(getattr(settings, "KNOWLEDGE_MAX_DOCUMENT_BYTES", 5 * 1024 * 1024))


def content_hash(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def article_content_hash(article: KnowledgeArticle) -> str:
    # The article's id is part of it: two articles with the same text are still two documents.
    return content_hash(f"article:{article.pk}:{article.title}\n{article.body}".encode())


def collection_create(
    *,
    account_id: int,
    name: str,
    description: str = "",
    all_agents: bool = True,
    reader_slugs: list[str] | None = None,
) -> KnowledgeCollection:
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "A collection needs a name."})
    slug = slugify(name)[:60]
    if not slug:
        raise ValidationError({"name": "The name needs at least one letter or digit."})
    readers = _readers(account_id=account_id, slugs=reader_slugs or [])
    try:
        with transaction.atomic():
            collection = KnowledgeCollection.objects.create(
                account_id=account_id,
                slug=slug,
                name=name[:120],
                description=description,
                all_agents=all_agents,
            )
            collection.readers.set(readers)
    except IntegrityError:
        raise ValidationError({"name": f"The account already has a collection called '{name}'."}) from None
    return collection


def collection_readers_set(
    *, collection: KnowledgeCollection, all_agents: bool, reader_slugs: list[str]
) -> None:
    readers = _readers(account_id=collection.account_id, slugs=reader_slugs)
    with transaction.atomic():
        KnowledgeCollection.objects.filter(pk=collection.pk).update(all_agents=all_agents)
        collection.all_agents = all_agents
        collection.readers.set(readers)


def _readers(*, account_id: int, slugs: list[str]) -> list[AgentInstance]:
    agents = list(AgentInstance.objects.filter(account_id=account_id, slug__in=slugs))
    unknown = sorted(set(slugs) - {a.slug for a in agents})
    if unknown:
        raise ValidationError({"readers": f"No agent of this account is called {', '.join(unknown)}."})
    return agents


def articles_collection(*, account_id: int) -> KnowledgeCollection:
    """The collection the account's articles are indexed in (made on first use)."""
    collection = KnowledgeCollection.objects.filter(account_id=account_id, holds_articles=True).first()
    if collection is not None:
        return collection
    collection, _ = KnowledgeCollection.objects.get_or_create(
        account_id=account_id,
        slug="articles",
        defaults={
            "name": "Articles",
            "description": "The articles written in the app.",
            "holds_articles": True,
        },
    )
    return collection


def title_from_filename(filename: str) -> str:
    return filename.rsplit(".", 1)[0].replace("_", " ").replace("-", " ").strip()


def document_upload(
    *, collection: KnowledgeCollection, filename: str, content: bytes, title: str = ""
) -> tuple[KnowledgeDocument, bool]:
    """Save an uploaded file as a queued document and queue its ingestion; (document, created).
    The same bytes uploaded again to the collection return the existing document."""
    fmt = format_for_filename(filename or "")
    if fmt is None:
        raise ValidationError(
            {"file": "Upload a Markdown (.md), text (.txt), HTML (.html) or PDF (.pdf) file."}
        )
    if not content:
        raise ValidationError({"file": "The file is empty."})
    limit = max_document_bytes()
    if len(content) > limit:
        raise ValidationError(
            {
                "file": f"The file is {len(content):,} bytes; the limit is {limit:,} bytes "
                f"({limit // 1048576} MB)."
            }
        )
    digest = content_hash(content)
    existing = KnowledgeDocument.objects.filter(collection=collection, content_hash=digest).first()
    if existing is not None:
        return existing, False
    title = (title or "").strip() or title_from_filename(filename)
    try:
        with transaction.atomic():
            document = KnowledgeDocument.objects.create(
                account_id=collection.account_id,
                collection=collection,
                title=title[:200] or "Untitled",
                source=filename[:300],
                format=fmt,
                content=content,
                content_hash=digest,
            )
            _queue_ingestion(document)
    except IntegrityError:
        # The same bytes won a race from another request.
        return KnowledgeDocument.objects.get(collection=collection, content_hash=digest), False
    return document, True


def document_write(
    *, collection: KnowledgeCollection, title: str, text: str
) -> tuple[KnowledgeDocument, bool]:
    """A document written in the app (Markdown)."""
    if not (title or "").strip():
        raise ValidationError({"title": "A document needs a title."})
    if not (text or "").strip():
        raise ValidationError({"text": "The document has no text."})
    return document_upload(
        collection=collection,
        filename=f"{slugify(title) or 'document'}.md",
        content=text.encode(),
        title=title,
    )


def document_reindex(*, document: KnowledgeDocument) -> None:
    """Ingest the document again from its stored content (a new version of its chunks)."""
    with transaction.atomic():
        KnowledgeDocument.objects.filter(pk=document.pk).update(
            status=KnowledgeDocument.Status.QUEUED,
            error="",
            stage="",
            progress_done=0,
            progress_total=0,
            version=F("version") + 1,
        )
        _queue_ingestion(document)


def document_delete(*, document: KnowledgeDocument) -> None:
    """The document and its chunks (and their vectors, by the table's foreign key)."""
    document.delete()


def _queue_ingestion(document: KnowledgeDocument) -> None:
    from agents.tasks import ingest_document

    transaction.on_commit(lambda: ingest_document.delay(document.pk))
    transaction.on_commit(lambda: knowledge_realtime.publish_document(document.account_id, document.pk))


def _progress(document: KnowledgeDocument, **fields) -> None:
    """Save the fields and tell the open pages once they can read them (after the commit)."""
    KnowledgeDocument.objects.filter(pk=document.pk).update(**fields)
    for name, value in fields.items():
        setattr(document, name, value)
    transaction.on_commit(lambda: knowledge_realtime.publish_document(document.account_id, document.pk))


def document_ingest(*, document_id: int) -> KnowledgeDocument | None:
    """Parse, chunk and embed the document, then replace its chunks in one transaction."""
    document = KnowledgeDocument.objects.filter(pk=document_id).select_related("article").first()
    if document is None:  # deleted while queued
        return None
    _progress(document, status=KnowledgeDocument.Status.PROCESSING, error="", stage="", progress_done=0)
    try:
        title, body, source_updated_at = _document_body(document)
    except DocumentUnreadable as exc:
        with transaction.atomic():
            KnowledgeChunk.objects.filter(document=document).delete()
            _progress(
                document, status=KnowledgeDocument.Status.FAILED, error=str(exc), stage="", chunk_count=0
            )
        return document
    _progress(document, stage="parsed")
    chunks = chunks_of(body)
    _progress(document, stage="chunked", progress_total=len(chunks))
    texts = [c.embedding_text(title) for c in chunks]
    batches = []
    for start in range(0, len(texts), EMBED_BATCH):
        batches.append(embed(texts[start : start + EMBED_BATCH]))
        _progress(document, progress_done=min(start + EMBED_BATCH, len(texts)))
    vectors = [v for batch in batches for v in batch]
    with transaction.atomic():
        locked = KnowledgeDocument.objects.select_for_update().filter(pk=document.pk).first()
        if locked is None:
            return None
        KnowledgeChunk.objects.filter(document=document).delete()
        saved = KnowledgeChunk.objects.bulk_create(
            [
                KnowledgeChunk(
                    account_id=document.account_id,
                    collection_id=document.collection_id,
                    document_id=document.pk,
                    position=c.position,
                    paragraph=c.paragraph,
                    sentence=c.sentence,
                    heading=c.heading,
                    text=c.text,
                    terms=f" {c.terms} ",
                    embedding=store.to_bytes(v),
                )
                for c, v in zip(chunks, vectors, strict=True)
            ],
            batch_size=500,
        )
        store.vectors_save(saved, vectors)
        fields = {"status": KnowledgeDocument.Status.READY, "stage": "embedded", "chunk_count": len(saved)}
        if source_updated_at is not None:
            fields.update(source_updated_at=source_updated_at, title=title[:200])
        _progress(document, **fields)
    return document


def _document_body(document: KnowledgeDocument):
    """(title, body, article's updated_at or None) of what the document holds now."""
    if document.article_id:
        article = KnowledgeArticle.objects.get(pk=document.article_id)
        return article.title, article.body, article.updated_at
    found_title, body = document_text(bytes(document.content), document.format)
    # A title the document gives itself ('# Title', <title>) beats one made from its file name.
    if found_title and document.title == title_from_filename(document.source):
        KnowledgeDocument.objects.filter(pk=document.pk).update(title=found_title[:200])
        return found_title, body, None
    return document.title, body, None


def articles_index(*, account_id: int) -> int:
    """Index the account's articles that are new or edited since they were indexed, here and
    now (an article saved a moment ago is answered from at once); returns how many."""
    stale = KnowledgeArticle.objects.filter(account_id=account_id).filter(
        Q(document__isnull=True)
        | Q(document__source_updated_at__isnull=True)
        | ~Q(document__source_updated_at=F("updated_at"))
    )
    articles = list(stale)
    if not articles:
        return 0
    collection = articles_collection(account_id=account_id)
    for article in articles:
        digest = article_content_hash(article)
        document, _ = KnowledgeDocument.objects.update_or_create(
            article=article,
            defaults={
                "account_id": account_id,
                "collection": collection,
                "title": article.title[:200],
                "source": "article",
                "format": KnowledgeDocument.Format.MARKDOWN,
                "content_hash": digest,
            },
        )
        document_ingest(document_id=document.pk)
    return len(articles)
