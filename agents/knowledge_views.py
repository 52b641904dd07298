"""The Knowledge page: collections, their documents with live ingestion progress, upload and
write forms, re-index and delete, and a "try a question" box. Thin: every read is a selector,
every write a service of agents.knowledge, every search the one retrieval module."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from accounts.decorators import account_required
from agents.knowledge.ingestion import document_delete, document_reindex, document_upload, document_write
from agents.knowledge.retrieval import search, source_url
from agents.knowledge.selectors import (
    collection_for_account,
    collections_for_account,
    document_for_account,
    documents_for_account,
)


def _role_required(check: str, why: str) -> Callable:
    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @account_required
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if not getattr(request.membership, check):
                raise PermissionDenied(why)
            return view(request, *args, **kwargs)

        return wrapper

    return decorate


operator_required = _role_required("is_operator", "The Knowledge page is for the account's operators.")
admin_required = _role_required("is_admin", "Changing documents is for the account's admins.")


def _page(request: HttpRequest, *, errors: dict | None = None, status: int = 200) -> HttpResponse:
    account_id = request.account.pk
    documents_by_collection: dict[int, list] = {}
    for document in documents_for_account(account_id=account_id).order_by("title", "pk"):
        documents_by_collection.setdefault(document.collection_id, []).append(document)
    collections = [
        {"collection": c, "documents": documents_by_collection.get(c.pk, [])}
        for c in collections_for_account(account_id=account_id).order_by("name")
    ]
    context = {
        "collections": collections,
        "is_admin": request.membership.is_admin,
        "errors": errors or {},
        "posted": request.POST if errors else {},
    }
    return render(request, "agents/knowledge.html", context, status=status)


@require_GET
@operator_required
def knowledge_index(request: HttpRequest) -> HttpResponse:
    return _page(request)


def _collection(request: HttpRequest):
    raw = request.POST.get("collection", "")
    account_id = request.account.pk
    collection = None
    if raw.isdigit():
        collection = collection_for_account(account_id=account_id, collection_id=int(raw))
    if collection is None:
        raise ValidationError({"collection": "Choose one of this account's collections."})
    return collection


@require_POST
@admin_required
def knowledge_upload(request: HttpRequest) -> HttpResponse:
    upload = request.FILES.get("file")
    try:
        if upload is None:
            raise ValidationError({"file": "Choose a file to upload."})
        document_upload(
            collection=_collection(request),
            filename=upload.name or "",
            content=upload.read(),
            title=request.POST.get("title", ""),
        )
    except ValidationError as exc:
        return _page(request, errors={f"upload_{k}": v for k, v in exc.message_dict.items()}, status=400)
    return redirect("knowledge:index")


@require_POST
@operator_required
def knowledge_write(request: HttpRequest) -> HttpResponse:
    try:
        document_write(
            collection=_collection(request),
            title=request.POST.get("title", ""),
            text=request.POST.get("text", ""),
        )
    except ValidationError as exc:
        return _page(request, errors={f"write_{k}": v for k, v in exc.message_dict.items()}, status=400)
    return redirect("knowledge:index")


def _document(request: HttpRequest, pk: int):
    document = document_for_account(account_id=request.account.pk, document_id=pk)
    if document is None:
        raise Http404("No such document in this account.")
    return document


@require_POST
@admin_required
def knowledge_reindex(request: HttpRequest, pk: int) -> HttpResponse:
    document_reindex(document=_document(request, pk))
    return redirect("knowledge:index")


@require_POST
@admin_required
def knowledge_delete(request: HttpRequest, pk: int) -> HttpResponse:
    document_delete(document=_document(request, pk))
    return redirect("knowledge:index")


@require_GET
@operator_required
def knowledge_try(request: HttpRequest) -> HttpResponse:
    """The passages the account's agents would be given for a question, with their scores."""
    question = request.GET.get("q", "").strip()
    hits = search(account_id=request.account.pk, query=question, limit=5) if question else []
    passages = [{"hit": hit, "url": source_url(hit.passage)} for hit in hits]
    return render(request, "agents/_knowledge_passages.html", {"question": question, "passages": passages})
