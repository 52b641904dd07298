"""Learned patterns: matching a request against the account's approved fixes.

Embeddings are the packaged MiniLM sentence vectors (unit length, so a dot product is
the cosine similarity), stored as JSON lists and computed where they are first needed:
in the worker, so the web process never loads the model just to approve a pattern.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from agents.knowledge.embeddings import embed
from escalations.models import LearnedPattern


@dataclass(frozen=True)
class PatternMatch:
    pattern: LearnedPattern
    similarity: float


def patterns_embed(patterns: list[LearnedPattern]) -> None:
    """Embed the patterns whose problem text has no embedding yet (or changed since)."""
    stale = [p for p in patterns if p.embedding is None or p.embedded_text != p.problem]
    if not stale:
        return
    vectors = embed([p.problem for p in stale])
    for pattern, vector in zip(stale, vectors, strict=True):
        pattern.embedding = [round(float(x), 6) for x in vector]
        pattern.embedded_text = pattern.problem
        LearnedPattern.objects.filter(pk=pattern.pk).update(
            embedding=pattern.embedding, embedded_text=pattern.embedded_text
        )


def pattern_best_match(
    *, account_id: int, text: str, exclude_ids: set[int] | frozenset[int] = frozenset()
) -> PatternMatch | None:
    """The account's approved pattern closest to ``text``, whatever its similarity."""
    patterns = list(
        LearnedPattern.objects.filter(account_id=account_id, status=LearnedPattern.Status.APPROVED).exclude(
            pk__in=exclude_ids
        )
    )
    if not patterns or not text.strip():
        return None
    patterns_embed(patterns)
    matrix = np.array([p.embedding for p in patterns], dtype=np.float32)
    scores = matrix @ embed([text])[0]
    best = int(np.argmax(scores))
    return PatternMatch(pattern=patterns[best], similarity=float(scores[best]))


def text_similarity(a: str, b: str) -> float:
    vectors = embed([a, b])
    return float(vectors[0] @ vectors[1])
