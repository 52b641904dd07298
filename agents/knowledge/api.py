"""The knowledge API: an account's collections, their documents (written, or uploaded as a file),
and search. Reading needs the operator or admin role; changing needs admin. Anyone who is not a
member of the account gets 404, as for an account or object that does not exist."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest
from ninja import Router, Schema, Status
from ninja.errors import HttpError
from pydantic import Field

from accounts.models import Membership
from agents.api_selectors import membership_for_account_slug
from agents.knowledge import ingestion
from agents.knowledge.retrieval import hit_result, search
from agents.knowledge.selectors import (
    collection_for_account,
    collections_for_account,
    document_for_account,
    documents_for_account,
)
from agents.models import KnowledgeCollection, KnowledgeDocument

router = Router(tags=["knowledge"])


class CollectionIn(Schema):
    name: str = Field(min_length=1, max_length=120)
    description: str = ""
    all_agents: bool = True
    readers: list[str] = Field(default_factory=list, description="Agent slugs, when all_agents is false.")


class CollectionOut(Schema):
    id: int
    slug: str
    name: str
    description: str
    all_agents: bool
    readers: list[str]
    holds_articles: bool

    @staticmethod
    def resolve_readers(obj: KnowledgeCollection) -> list[str]:
        return sorted(a.slug for a in obj.readers.all())


class DocumentIn(Schema):
    title: str = Field(min_length=1, max_length=200)
    text: str = Field(min_length=1)


class DocumentOut(Schema):
    id: int
    collection_id: int
    title: str
    source: str
    format: str
    version: int
    status: str
    error: str
    stage: str
    progress_done: int
    progress_total: int
    chunk_count: int


class SearchIn(Schema):
    query: str = Field(min_length=1, max_length=1000)
    collections: list[int] | None = Field(default=None, description="Only these collections.")
    agent: str | None = Field(default=None, description="Only what this agent (slug) may read.")
    limit: int = Field(default=5, ge=1, le=20)


class PassageOut(Schema):
    title: str
    text: str
    score: float
    document_id: int | None
    article_id: int | None
    url: str


def _membership(request: HttpRequest, account: str, *, admin: bool = False) -> Membership:
    membership = membership_for_account_slug(user=request.user, account_slug=account)
    if membership is None or not membership.is_operator:
        raise Http404
    if admin and not membership.is_admin:
        raise HttpError(403, "Only the account's admins may change its knowledge base.")
    return membership


def _collection(membership: Membership, collection_id: int) -> KnowledgeCollection:
    collection = collection_for_account(account_id=membership.account_id, collection_id=collection_id)
    if collection is None:
        raise Http404
    return collection


def _document(membership: Membership, document_id: int) -> KnowledgeDocument:
    document = document_for_account(account_id=membership.account_id, document_id=document_id)
    if document is None:
        raise Http404
    return document


@router.get("/accounts/{account}/collections", response=list[CollectionOut], summary="List collections")
def collections_list(request: HttpRequest, account: str):
    return collections_for_account(account_id=_membership(request, account).account_id)


@router.post("/accounts/{account}/collections", response={201: CollectionOut}, summary="Create a collection")
def collections_create(request: HttpRequest, account: str, payload: CollectionIn):
    membership = _membership(request, account, admin=True)
    collection = ingestion.collection_create(
        account_id=membership.account_id,
        name=payload.name,
        description=payload.description,
        all_agents=payload.all_agents,
        reader_slugs=payload.readers,
    )
    return Status(201, _collection(membership, collection.pk))


@router.get(
    "/accounts/{account}/collections/{collection_id}/documents",
    response=list[DocumentOut],
    summary="List a collection's documents",
)
def documents_list(request: HttpRequest, account: str, collection_id: int):
    membership = _membership(request, account)
    collection = _collection(membership, collection_id)
    return documents_for_account(account_id=membership.account_id).filter(collection=collection)


@router.post(
    "/accounts/{account}/collections/{collection_id}/documents",
    response={200: DocumentOut, 201: DocumentOut},
    summary="Write a document (Markdown); 200 with the existing one when the text is already there",
)
def documents_write(request: HttpRequest, account: str, collection_id: int, payload: DocumentIn):
    membership = _membership(request, account, admin=True)
    document, created = ingestion.document_write(
        collection=_collection(membership, collection_id), title=payload.title, text=payload.text
    )
    return Status(201 if created else 200, _document(membership, document.pk))


UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "description": ".md, .txt, .html or .pdf",
                        },
                        "title": {"type": "string", "description": "Defaults to the document's own title."},
                    },
                    "required": ["file"],
                }
            }
        },
    }
}


@router.post(
    "/accounts/{account}/collections/{collection_id}/upload",
    response={200: DocumentOut, 201: DocumentOut},
    summary="Upload a file (.md, .txt, .html, .pdf); 200 with the existing document for the same bytes",
    openapi_extra=UPLOAD_BODY,
)
def documents_upload(request: HttpRequest, account: str, collection_id: int):
    # The form is read here, after the account check: a stranger gets 404 whatever they send.
    membership = _membership(request, account, admin=True)
    collection = _collection(membership, collection_id)
    upload = request.FILES.get("file")
    if upload is None:
        raise ValidationError({"file": "Send the document as the multipart field 'file'."})
    limit = ingestion.max_document_bytes()
    if upload.size and upload.size > limit:
        # Refused before reading it into memory.
        raise ValidationError({"file": f"The file is {upload.size:,} bytes; the limit is {limit:,} bytes."})
    document, created = ingestion.document_upload(
        collection=collection,
        filename=upload.name or "",
        content=upload.read(limit + 1),
        title=request.POST.get("title", ""),
    )
    return Status(201 if created else 200, _document(membership, document.pk))


@router.get("/accounts/{account}/documents/{document_id}", response=DocumentOut, summary="Get a document")
def documents_get(request: HttpRequest, account: str, document_id: int):
    return _document(_membership(request, account), document_id)


@router.post(
    "/accounts/{account}/documents/{document_id}/reindex",
    response={202: DocumentOut},
    summary="Ingest a document again",
)
def documents_reindex(request: HttpRequest, account: str, document_id: int):
    membership = _membership(request, account, admin=True)
    ingestion.document_reindex(document=_document(membership, document_id))
    return Status(202, _document(membership, document_id))


@router.delete(
    "/accounts/{account}/documents/{document_id}", response={204: None}, summary="Delete a document"
)
def documents_delete(request: HttpRequest, account: str, document_id: int):
    membership = _membership(request, account, admin=True)
    ingestion.document_delete(document=_document(membership, document_id))
    return Status(204, None)


@router.post(
    "/accounts/{account}/knowledge/search", response=list[PassageOut], summary="Search the knowledge base"
)
def knowledge_search(request: HttpRequest, account: str, payload: SearchIn):
    membership = _membership(request, account)
    hits = search(
        account_id=membership.account_id,
        query=payload.query,
        limit=payload.limit,
        agent_slug=payload.agent,
        collection_ids=payload.collections,
    )
    return [hit_result(hit) for hit in hits]
