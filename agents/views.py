"""Read-only pages of the agents app: a knowledge article, where answers' sources link to."""

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts.decorators import account_required
from agents.knowledge.selectors import document_chunks, document_for_account
from agents.selectors import knowledge_article_for_account


@require_GET
@account_required
def knowledge_article(request: HttpRequest, pk: int) -> HttpResponse:
    # Another account's article is as unknown as a missing one: the same 404.
    article = knowledge_article_for_account(account_id=request.account.pk, article_id=pk)
    if article is None:
        raise Http404("No such article.")
    return render(request, "agents/knowledge_article.html", {"article": article})


@require_GET
@account_required
def knowledge_document(request: HttpRequest, pk: int) -> HttpResponse:
    """A document's text as indexed (its chunks, paragraph by paragraph): where sources link to."""
    document = document_for_account(account_id=request.account.pk, document_id=pk)
    if document is None:
        raise Http404("No such document in this account.")
    paragraphs: dict[int, list[str]] = {}
    for chunk in document_chunks(document=document):
        paragraphs.setdefault(chunk.paragraph, []).append(chunk.text)
    context = {"document": document, "paragraphs": [" ".join(p) for p in paragraphs.values()]}
    return render(request, "agents/knowledge_document.html", context)
