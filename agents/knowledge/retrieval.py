"""Retrieval over an account's knowledge articles, and the grounded answer built from it.

The one place that searches the knowledge base: the offline model, the ``knowledge_search`` tool
and (through them) the escalation ladder's research phase all call ``search``; a future store
(collections, pgvector) replaces this module's index, not its callers.

Passages are sentences, ranked by meaning (MiniLM cosine of the question against "title.
sentence") plus word overlap weighted by rarity (so "Team plan" and "urgent cases" find the one
sentence that has both, where meaning alone may prefer a broader article about SLAs).
"""

from __future__ import annotations

import math
import re
import threading
from collections import Counter
from dataclasses import dataclass

import numpy as np

from agents.knowledge.embeddings import embed
from agents.selectors import knowledge_articles_for_account

# A sentence must clear both: meaning alone (MiniLM scores unrelated English around 0.0-0.25) and
# the combined score. Chosen on the labelled questions (``eval_answers``) and on unanswerable ones.
SEMANTIC_MIN = 0.25
RELEVANCE_THRESHOLD = 0.45
LEXICAL_WEIGHT = 0.35
TITLE_WEIGHT = 0.5  # a query word found only in the article's title counts half
# Sentences within this much of the best one join the answer; at most MAX_SENTENCES.
ANSWER_MARGIN = 0.08
MAX_SENTENCES = 3

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"“(])")
_WORD = re.compile(r"[a-z0-9][a-z0-9$%._/-]*[a-z0-9%]|[a-z0-9]")
_STOP_WORDS = (
    "a an the and or of to in on for with by at from as is are was were be been being it its this that these "
    "those do does did can could should would will shall may might must i we you they he she our your my "
    "their what which who whom whose when where why how there here if then than so not no yes about into "
    "over under after before up down out any all some each every get got have has had me us them just "
    "also only very more most much many such same other own"
)
_STOP = frozenset(_STOP_WORDS.split())


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def terms(text: str) -> list[str]:
    """Content words, lower-cased and lightly stemmed."""
    return [_stem(w.strip("._/-")) for w in _WORD.findall(text.lower()) if w not in _STOP]


@dataclass(frozen=True)
class Passage:
    article_id: int
    title: str
    text: str  # one sentence
    paragraph: int = 0
    position: int = 0  # sentence number within the paragraph


@dataclass(frozen=True)
class Hit:
    passage: Passage
    score: float
    detail: str = ""  # the next sentence of the same paragraph, which often carries the specifics


@dataclass
class _Index:
    version: tuple
    passages: list[Passage]
    vectors: np.ndarray
    terms: list[frozenset[str]]
    title_terms: list[frozenset[str]]
    idf: dict[str, float]


_indexes: dict[int, _Index] = {}
_indexes_lock = threading.Lock()


def split_passages(article_id: int, title: str, body: str) -> list[Passage]:
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", body) if p.strip()]
    passages = []
    for number, paragraph in enumerate(p for p in paragraphs if not p.startswith("#")):
        for position, sentence in enumerate(_SENTENCE_END.split(" ".join(paragraph.split()))):
            if sentence.strip():
                passages.append(Passage(article_id, title, sentence.strip(), number, position))
    return passages


def _index_for(account_id: int) -> _Index:
    articles = list(
        knowledge_articles_for_account(account_id=account_id).values_list("id", "title", "body", "updated_at")
    )
    # Rebuilt only when an article is added, removed or edited.
    version = tuple((a[0], a[3]) for a in articles)
    with _indexes_lock:
        cached = _indexes.get(account_id)
        if cached is not None and cached.version == version:
            return cached
    passages = [p for a in articles for p in split_passages(a[0], a[1], a[2])]
    # The title gives a sentence the context its own words may leave implicit.
    vectors = embed([f"{p.title}. {p.text}" for p in passages]) if passages else np.zeros((0, 1))
    sentence_terms = [frozenset(terms(p.text)) for p in passages]
    title_terms = [frozenset(terms(p.title)) for p in passages]
    counts = Counter(term for words in sentence_terms for term in words)
    total = max(len(passages), 1)
    idf = {term: math.log(1 + total / count) for term, count in counts.items()}
    index = _Index(version, passages, vectors, sentence_terms, title_terms, idf)
    with _indexes_lock:
        _indexes[account_id] = index
    return index


def _lexical(index: _Index, query_terms: list[str]) -> np.ndarray:
    """Per sentence: the share of the query's (rarity-weighted) words that it or its title has."""
    unknown = max(index.idf.values(), default=1.0)
    weights = {term: index.idf.get(term, unknown) for term in dict.fromkeys(query_terms)}
    total = sum(weights.values())
    if not total:
        return np.zeros(len(index.passages))
    scores = np.zeros(len(index.passages))
    for i, (words, title) in enumerate(zip(index.terms, index.title_terms, strict=True)):
        found = 0.0
        for term, weight in weights.items():
            if term in words:
                found += weight
            elif term in title:
                found += weight * TITLE_WEIGHT
        scores[i] = found / total
    return scores


def search(*, account_id: int, query: str, limit: int = 3) -> list[Hit]:
    """The account's sentences most relevant to ``query``, best first; only those that clear the
    relevance threshold (so an empty list means the knowledge base has nothing on it)."""
    index = _index_for(account_id)
    if not index.passages or not query.strip():
        return []
    semantic = index.vectors @ embed([query])[0]
    scores = semantic + LEXICAL_WEIGHT * _lexical(index, terms(query))
    ranked = np.argsort(-scores)
    hits: list[Hit] = []
    seen: set[str] = set()
    for i in ranked:
        if len(hits) >= limit or scores[i] < RELEVANCE_THRESHOLD:
            break
        passage = index.passages[i]
        if semantic[i] < SEMANTIC_MIN or passage.text in seen:
            continue
        seen.add(passage.text)
        following = index.passages[i + 1] if i + 1 < len(index.passages) else None
        same_paragraph = following is not None and (following.article_id, following.paragraph) == (
            passage.article_id,
            passage.paragraph,
        )
        hits.append(Hit(passage, float(scores[i]), following.text if same_paragraph else ""))
    return hits


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


def hit_result(hit: Hit) -> dict:
    """A hit as plain data, as the knowledge_search tool returns it."""
    return {
        "title": hit.passage.title,
        "text": hit.passage.text,
        "score": round(hit.score, 3),
        "article_id": hit.passage.article_id,
        "url": article_url(hit.passage.article_id),
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
    detail = results[0].get("detail") or ""
    if results[0].get("lead") and detail and detail not in sentences:
        sentences.insert(1, detail)
    body = " ".join(sentences[:MAX_SENTENCES])
    sources: dict[str, str] = {}
    for r in used:
        url = r.get("url") or article_url(r.get("article_id"))
        sources.setdefault(r["title"], url)
    links = [f"[{title}]({url})" if url else title for title, url in sources.items()]
    label = "Source" if len(links) == 1 else "Sources"
    return f"{body}\n\n{label}: " + ", ".join(links)
