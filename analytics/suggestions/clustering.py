"""Grouping similar questions with the packaged MiniLM sentence embeddings.

Agglomerative clustering with centroid linkage: every distinct question starts as its own cluster,
and the two clusters whose mean vectors are closest merge while that cosine similarity clears
``SIMILARITY``. MiniLM puts paraphrases of one question around 0.4-0.7 and unrelated questions
below 0.35, and a cluster's mean vector is closer to each paraphrase than they are to each other,
so groups form from their closest pairs outwards. Identical texts are embedded once and weigh as
many times as they were asked. The same questions in the same order always give the same clusters,
which keeps the refresh idempotent."""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from agents.knowledge.embeddings import embed

SIMILARITY = 0.45
MAX_DISTINCT = 1500  # distinct questions clustered (the newest); the rest are past the point of news

_STOPWORDS = """a an the and or but if then so of to in on at by for with from into about as is are
    was were be
    been being do does did doing have has had i me my we our you your it its this that these those
    what which who whom whose when where why how can could would should will shall may might must
    not no yes please thanks thank hi hello there here any some all each every more most very just
    also still again new get got make want need help why isn't doesn't don't can't won't i'm it's
    up out over than too only own same s t"""
STOPWORDS = frozenset(_STOPWORDS.split())


@dataclass
class Cluster:
    members: list[int] = field(default_factory=list)  # indexes into the texts clustered, in order
    centroid: np.ndarray | None = None  # unit length


def vectors_for(texts: list[str]) -> np.ndarray:
    unique = list(dict.fromkeys(texts))
    if not unique:
        return np.zeros((0, 384), dtype=np.float32)
    by_text = dict(zip(unique, embed(unique), strict=True))
    return np.array([by_text[t] for t in texts], dtype=np.float32)


def _unit(vector: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm else vector


def cluster(texts: list[str], *, similarity: float = SIMILARITY) -> tuple[list[Cluster], np.ndarray]:
    """Clusters of ``texts`` (each a list of indexes, in the order given) and the texts' vectors."""
    vectors = vectors_for(texts)
    distinct = list(dict.fromkeys(texts))[-MAX_DISTINCT:]
    if not distinct:
        return [], vectors
    position = {text: i for i, text in enumerate(distinct)}
    groups: list[list[int]] = [[] for _ in distinct]
    sums = np.zeros((len(distinct), vectors.shape[1]), dtype=np.float64)
    for index, text in enumerate(texts):
        if text in position:
            groups[position[text]].append(index)
            sums[position[text]] += vectors[index]
    centroids = np.array([_unit(row) for row in sums])
    alive = np.ones(len(distinct), dtype=bool)
    scores = centroids @ centroids.T
    np.fill_diagonal(scores, -np.inf)
    while alive.sum() > 1:
        best = int(np.argmax(scores))
        i, j = divmod(best, len(distinct))
        if scores[i, j] < similarity:
            break
        keep, gone = min(i, j), max(i, j)
        groups[keep] += groups[gone]
        groups[gone] = []
        sums[keep] += sums[gone]
        centroids[keep] = _unit(sums[keep])
        alive[gone] = False
        scores[gone, :] = scores[:, gone] = -np.inf
        row = centroids @ centroids[keep]
        row[~alive] = -np.inf
        row[keep] = -np.inf
        scores[keep, :] = scores[:, keep] = row
    clusters = [
        Cluster(members=sorted(groups[k]), centroid=centroids[k].astype(np.float32))
        for k in range(len(distinct))
        if alive[k]
    ]
    return sorted(clusters, key=lambda c: c.members[0]), vectors


def _words(text: str) -> list[str]:
    return [w for w in re.findall(r"[a-z0-9][a-z0-9'-]*", text.lower()) if w not in STOPWORDS and len(w) > 1]


def _stem(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def topic_of(texts: list[str], vectors: np.ndarray, centroid: np.ndarray) -> str:
    """A short name for what the questions share: the words most of them use, in the order the most
    typical question uses them ("badge reader"), else that question itself."""
    typical = texts[int(np.argmax(vectors @ centroid))]
    spread = Counter(stem for text in texts for stem in {_stem(w) for w in _words(text)})
    needed = max(2, math.ceil(0.8 * len(texts)))
    shared, seen = [], set()
    for word in _words(typical):
        stem = _stem(word)
        if spread[stem] >= needed and stem not in seen:
            seen.add(stem)
            shared.append(word)
    if shared and len(set(texts)) > 1:
        return " ".join(shared[:4])
    return typical.strip().rstrip("?.!")[:120]
