"""Retrieval over an account's knowledge articles, one passage per paragraph."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

import numpy as np

from agents.knowledge.embeddings import embed
from agents.selectors import knowledge_articles_for_account

# Below this cosine similarity a passage is not about the question (MiniLM scores
# unrelated English text around 0.0-0.25).
RELEVANCE_THRESHOLD = 0.38


@dataclass(frozen=True)
class Passage:
    article_id: int
    title: str
    text: str


@dataclass(frozen=True)
class Hit:
    passage: Passage
    score: float


@dataclass
class _Index:
    version: tuple
    passages: list[Passage]
    vectors: np.ndarray


_indexes: dict[int, _Index] = {}
_indexes_lock = threading.Lock()


def split_passages(article_id: int, title: str, body: str) -> list[Passage]:
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", body) if p.strip()]
    return [Passage(article_id, title, p) for p in paragraphs if not p.startswith("#")]


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
    # The title gives a paragraph the context its own sentences may leave implicit.
    vectors = embed([f"{p.title}. {p.text}" for p in passages])
    index = _Index(version=version, passages=passages, vectors=vectors)
    with _indexes_lock:
        _indexes[account_id] = index
    return index


def search(*, account_id: int, query: str, limit: int = 3) -> list[Hit]:
    index = _index_for(account_id)
    if not index.passages or not query.strip():
        return []
    scores = index.vectors @ embed([query])[0]
    best = np.argsort(-scores)[:limit]
    return [Hit(index.passages[i], float(scores[i])) for i in best if scores[i] >= RELEVANCE_THRESHOLD]


NOTHING_KNOWN = (
    "I don't have anything in this account's knowledge base about that, so I "
    "won't guess. Try rephrasing with the product area you mean (for example "
    "incidents, changes, SSO or pricing), or ask an operator to add an article."
)


def compose_answer(*, query: str, hits: list[Hit]) -> str:
    """A grounded, extractive answer: the best passages, then the sources used."""
    return compose_answer_from_results(
        [{"title": h.passage.title, "text": h.passage.text, "score": h.score} for h in hits]
    )


def compose_answer_from_results(results: list[dict]) -> str:
    """The same answer from search results (as the knowledge_search tool returns them)."""
    if not results:
        return NOTHING_KNOWN
    best = results[0]["score"]
    # Keep passages close to the best one; a distant third is noise, not support.
    used = [r for r in results if r["score"] >= best - 0.12]
    body = "\n\n".join(r["text"] for r in used)
    titles = list(dict.fromkeys(r["title"] for r in used))
    sources = "\n".join(f"- {title}" for title in titles)
    return f"From the knowledge base:\n\n{body}\n\n**Sources**\n{sources}"
