"""Read-only pages of the agents app: a knowledge article, where answers' sources link to."""

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts.decorators import account_required
from agents.selectors import knowledge_article_for_account


@require_GET
@account_required
def knowledge_article(request: HttpRequest, pk: int) -> HttpResponse:
    # Another account's article is as unknown as a missing one: the same 404.
    article = knowledge_article_for_account(account_id=request.account.pk, article_id=pk)
    if article is None:
        raise Http404("No such article.")
    return render(request, "agents/knowledge_article.html", {"article": article})
