"""Retrieval over an account's knowledge collections, and the grounded answer built from it.

The one place that searches the knowledge base: the offline model, the ``knowledge_search`` tool,
the router's in-scope check, escalation research (through the tool) and the Knowledge page's
"try a question" box all call ``search``. It reads the chunks stored at ingestion
(``agents/knowledge/ingestion.py``); nothing is embedded at process start.

Two stages. The store (``agents/knowledge/store.py``: pgvector HNSW, or exact search over the
stored vectors) returns the ``CANDIDATES`` nearest sentences within the account's readable
collections, filtered in the query. They are then ranked by meaning (MiniLM cosine of the
question against "title. sentence") plus word overlap weighted by rarity among the candidates
(so "Team plan" and "urgent cases" find the one sentence that has both, where meaning alone may
prefer a broader article about SLAs).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

import numpy as np

from agents.knowledge import store
from agents.knowledge.embeddings import embed
from agents.knowledge.selectors import collections_readable
from agents.knowledge.terms import terms
from agents.models import KnowledgeChunk

# A sentence must clear both: meaning alone (MiniLM scores unrelated English around 0.0-0.25) and
# the combined score. Chosen on the labelled questions (``eval_answers``) and on unanswerable ones.
SEMANTIC_MIN = 0.25
RELEVANCE_THRESHOLD = 0.45
LEXICAL_WEIGHT = 0.35
TITLE_WEIGHT = 0.5  # a query word found only in the document's title counts half
# Sentences within this much of the best one join the answer; at most MAX_SENTENCES.
ANSWER_MARGIN = 0.08
MAX_SENTENCES = 3
# Nearest sentences re-ranked with the keyword score (and the corpus its word rarity is read from).
CANDIDATES = 200

__all__ = ["Hit", "Passage", "search", "terms"]


@dataclass(frozen=True)
class Passage:
    article_id: int | None
    title: str
    text: str  # one sentence
    paragraph: int = 0
    position: int = 0  # sentence number within the paragraph
    document_id: int | None = None
    chunk_id: int | None = None
    heading: str = ""


@dataclass(frozen=True)
class Hit:
    passage: Passage
    score: float
    detail: str = ""  # the next sentence of the same paragraph, which often carries the specifics
    semantic: float = 0.0
    lexical: float = 0.0


_FIELDS = (
    "id",
    "document_id",
    "document__title",
    "document__article_id",
    "paragraph",
    "sentence",
    "position",
    "text",
    "terms",
)


def _lexical(rows: list[dict], query_terms: list[str]) -> np.ndarray:
    """Per sentence: the share of the query's (rarity-weighted) words that it or its title has."""
    sentence_terms = [frozenset(r["terms"].split()) for r in rows]
    counts = Counter(term for words in sentence_terms for term in words)
    total = max(len(rows), 1)
    idf = {term: math.log(1 + total / count) for term, count in counts.items()}
    unknown = max(idf.values(), default=1.0)
    weights = {term: idf.get(term, unknown) for term in dict.fromkeys(query_terms)}
    weight_sum = sum(weights.values())
    scores = np.zeros(len(rows))
    if not weight_sum:
        return scores
    titles: dict[str, frozenset[str]] = {}
    for i, (words, row) in enumerate(zip(sentence_terms, rows, strict=True)):
        title = row["document__title"]
        if title not in titles:
            titles[title] = frozenset(terms(title))
        found = 0.0
        for term, weight in weights.items():
            if term in words:
                found += weight
            elif term in titles[title]:
                found += weight * TITLE_WEIGHT
        scores[i] = found / weight_sum
    return scores


def search(
    *,
    account_id: int,
    query: str,
    limit: int = 3,
    agent_slug: str | None = None,
    agent_id: int | None = None,
    collection_ids: list[int] | None = None,
) -> list[Hit]:
    """The account's sentences most relevant to ``query``, best first; only those that clear the
    relevance threshold (so an empty list means the knowledge base has nothing on it).

    Only collections the agent reads (``agent_slug`` or ``agent_id``; every collection of the
    account when both are None) and, when given, among ``collection_ids``."""
    from agents.knowledge.ingestion import articles_index

    if not query.strip():
        return []
    articles_index(account_id=account_id)
    scope = collections_readable(account_id=account_id, agent_slug=agent_slug, agent_id=agent_id)
    if collection_ids is not None:
        scope = [c for c in scope if c in set(collection_ids)]
    nearest = store.nearest(
        account_id=account_id, collection_ids=scope, query=embed([query])[0], k=CANDIDATES
    )
    if not nearest:
        return []
    by_id = {
        row["id"]: row
        for row in KnowledgeChunk.objects.filter(
            account_id=account_id, collection_id__in=scope, id__in=[c for c, _ in nearest]
        ).values(*_FIELDS)
    }
    rows = [by_id[c] for c, _ in nearest if c in by_id]
    semantic = np.array([s for c, s in nearest if c in by_id])
    lexical = _lexical(rows, terms(query))
    scores = semantic + LEXICAL_WEIGHT * lexical
    chosen: list[int] = []
    seen: set[str] = set()
    for i in np.argsort(-scores, kind="stable"):
        if len(chosen) >= limit or scores[i] < RELEVANCE_THRESHOLD:
            break
        if semantic[i] < SEMANTIC_MIN or rows[i]["text"] in seen:
            continue
        seen.add(rows[i]["text"])
        chosen.append(int(i))
    details = _next_sentences([rows[i] for i in chosen])
    return [
        Hit(
            Passage(
                article_id=rows[i]["document__article_id"],
                title=rows[i]["document__title"],
                text=rows[i]["text"],
                paragraph=rows[i]["paragraph"],
                position=rows[i]["sentence"],
                document_id=rows[i]["document_id"],
                chunk_id=rows[i]["id"],
            ),
            float(scores[i]),
            details.get(rows[i]["id"], ""),
            semantic=float(semantic[i]),
            lexical=float(lexical[i]),
        )
        for i in chosen
    ]


def _next_sentences(rows: list[dict]) -> dict[int, str]:
    """Per chunk id: the next sentence when it is in the same paragraph."""
    if not rows:
        return {}
    from django.db.models import Q

    wanted = Q()
    for row in rows:
        wanted |= Q(document_id=row["document_id"], position=row["position"] + 1, paragraph=row["paragraph"])
    following = {
        (r["document_id"], r["position"]): r["text"]
        for r in KnowledgeChunk.objects.filter(wanted).values("document_id", "position", "text")
    }
    return {row["id"]: following.get((row["document_id"], row["position"] + 1), "") for row in rows}


NOTHING_KNOWN = (
    "I don't have anything in this account's knowledge base about that, so I "
    "won't guess. Try rephrasing with the product area you mean (for example "
    "incidents, changes, SSO or pricing), or ask an operator to add an article."
)


def article_url(article_id: int | None) -> str:
    """The article's page in the app ('' when the URL cannot be built, e.g. no URLconf)."""
    if not article_id:
        return ""
    from django.urls import NoReverseMatch, reverse

    try:
        return reverse("knowledge:article", kwargs={"pk": article_id})
    except NoReverseMatch:
        return ""


def source_url(passage: Passage) -> str:
    """Where an answer's source link goes: the article's page, or the document's."""
    if passage.article_id:
        return article_url(passage.article_id)
    if not passage.document_id:
        return ""
    from django.urls import NoReverseMatch, reverse

    try:
        return reverse("knowledge:document", kwargs={"pk": passage.document_id})
    except NoReverseMatch:
        return ""


def hit_result(hit: Hit) -> dict:
    """A hit as plain data, as the knowledge_search tool returns it."""
    return {
        "title": hit.passage.title,
        "text": hit.passage.text,
        "score": round(hit.score, 3),
        "article_id": hit.passage.article_id,
        "document_id": hit.passage.document_id,
        "url": source_url(hit.passage),
        "lead": hit.passage.position == 0,
        "detail": hit.detail,
    }


def compose_answer(*, query: str, hits: list[Hit]) -> str:
    """A grounded, extractive answer: the best sentences, then the sources as links."""
    return compose_answer_from_results([hit_result(h) for h in hits])


def compose_answer_from_results(results: list[dict]) -> str:
    """The same answer from search results (as the knowledge_search tool returns them): the most
    relevant sentence first, then up to two more only when they score nearly as well."""
    if not results:
        return NOTHING_KNOWN
    best = results[0]["score"]
    used = [r for r in results if r["score"] >= best - ANSWER_MARGIN][:MAX_SENTENCES]
    sentences = [r["text"] for r in used]
    # A paragraph's lead sentence names the topic; the specifics (numbers, names, steps) follow it.
    # The best sentence's next one also joins when it is relevant on its own (one of the results):
    # "Unsuccessful changes automatically create a problem record" after the close codes.
    detail = results[0].get("detail") or ""
    continues = any(r["text"] == detail for r in results[1:])
    if (results[0].get("lead") or continues) and detail and detail not in sentences:
        sentences.insert(1, detail)
    body = " ".join(sentences[:MAX_SENTENCES])
    sources: dict[str, str] = {}
    for r in used:
        url = r.get("url") or article_url(r.get("article_id"))
        sources.setdefault(r["title"], url)
    links = [f"[{title}]({url})" if url else title for title, url in sources.items()]
    label = "Source" if len(links) == 1 else "Sources"
    return f"{body}\n\n{label}: " + ", ".join(links)
