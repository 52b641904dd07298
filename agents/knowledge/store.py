"""Nearest chunks to a query vector, within an account's collections.

Two back ends, chosen per database:

- **pgvector** (PostgreSQL with the ``vector`` extension: migration 0006 made the table): an
  HNSW index over ``KnowledgeChunkVector.embedding``, queried through pgvector's Django
  integration with the account and collection filter in the same SQL statement. HNSW filters
  after the index scan, so ``hnsw.ef_search`` is raised in proportion to how small a share of
  the table the account's collections are; a scope small enough to scan (``EXACT_BELOW``
  chunks) is searched exactly through the (account, collection) index instead.
- **embedded** (SQLite, or PostgreSQL without the extension): exact search in-process over the
  account's stored vectors, read once per process and kept until a chunk of the scope is added
  or removed. Measured in ``bench/retrieval.py``; exact, so its recall is 1.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

import numpy as np
from django.db import connections, transaction
from django.db.models import Count, Max

from agents.models import KnowledgeChunk, KnowledgeChunkVector

DIMENSIONS = 384
EXACT_BELOW = 20_000
EF_SEARCH_MIN, EF_SEARCH_MAX = 40, 1000
STATS_SECONDS = 60.0  # how long a process trusts its row counts for ef_search

_lock = threading.Lock()
_has_table: dict[tuple[str, str], bool] = {}
_matrices: dict[tuple, _Matrix] = {}
_scope_sizes: dict[tuple, tuple[float, int, int]] = {}


@dataclass
class _Matrix:
    version: tuple
    ids: np.ndarray
    vectors: np.ndarray


def to_bytes(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype=np.float32).tobytes()


def from_bytes(data: bytes | memoryview) -> np.ndarray:
    return np.frombuffer(bytes(data), dtype=np.float32)


def pgvector_enabled(using: str = "default") -> bool:
    """Whether this database has the pgvector table (PostgreSQL with the extension)."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return False
    key = (using, str(connection.settings_dict.get("NAME")))
    if key not in _has_table:
        _has_table[key] = KnowledgeChunkVector._meta.db_table in connection.introspection.table_names()
    return _has_table[key]


def backend_name(using: str = "default") -> str:
    return "pgvector" if pgvector_enabled(using) else "embedded"


def vectors_save(chunks: list[KnowledgeChunk], vectors: np.ndarray) -> None:
    """Copy the chunks' vectors to the pgvector table, where there is one (in the caller's
    transaction, so a chunk and its vector are saved together)."""
    if not chunks or not pgvector_enabled():
        return
    KnowledgeChunkVector.objects.bulk_create(
        [
            KnowledgeChunkVector(
                chunk_id=chunk.pk, account_id=chunk.account_id, collection_id=chunk.collection_id, embedding=v
            )
            for chunk, v in zip(chunks, vectors, strict=True)
        ],
        batch_size=500,
    )


def nearest(
    *, account_id: int, collection_ids: list[int], query: np.ndarray, k: int, exact: bool = False
) -> list[tuple[int, float]]:
    """(chunk id, cosine similarity) of the ``k`` nearest chunks in the scope, best first."""
    if not collection_ids:
        return []
    if pgvector_enabled():
        return _pgvector_nearest(account_id, collection_ids, query, k, exact=exact)
    return _embedded_nearest(account_id, collection_ids, query, k)


def _scope(account_id: int, collection_ids: list[int]):
    return KnowledgeChunk.objects.filter(account_id=account_id, collection_id__in=collection_ids)


def _embedded_nearest(account_id: int, collection_ids: list[int], query: np.ndarray, k: int):
    matrix = _matrix(account_id, sorted(collection_ids))
    if not len(matrix.ids):
        return []
    scores = matrix.vectors @ query.astype(np.float32)
    k = min(k, len(scores))
    top = np.argpartition(-scores, k - 1)[:k]
    top = top[np.argsort(-scores[top])]
    return [(int(matrix.ids[i]), float(scores[i])) for i in top]


def _matrix(account_id: int, collection_ids: list[int]) -> _Matrix:
    scope = _scope(account_id, collection_ids)
    stats = scope.aggregate(n=Count("id"), last=Max("id"))
    version = (stats["n"], stats["last"])
    key = (connections["default"].settings_dict.get("NAME"), account_id, tuple(collection_ids))
    with _lock:
        cached = _matrices.get(key)
    if cached is not None and cached.version == version:
        return cached
    rows = list(scope.order_by("id").values_list("id", "embedding"))
    ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    vectors = np.frombuffer(b"".join(bytes(r[1]) for r in rows), dtype=np.float32).reshape(-1, DIMENSIONS)
    matrix = _Matrix(version, ids, vectors)
    with _lock:
        _matrices[key] = matrix
    return matrix


def _scope_size(account_id: int, collection_ids: list[int]) -> tuple[int, int]:
    """(chunks in the scope, chunks in the table), counted at most once a minute per process."""
    key = (account_id, tuple(sorted(collection_ids)))
    now = time.monotonic()
    cached = _scope_sizes.get(key)
    if cached is not None and now - cached[0] < STATS_SECONDS:
        return cached[1], cached[2]
    scope = KnowledgeChunkVector.objects.filter(
        account_id=account_id, collection_id__in=collection_ids
    ).count()
    with connections["default"].cursor() as cursor:
        # The planner's estimate: exact enough for a ratio, and free.
        cursor.execute(
            "SELECT reltuples::bigint FROM pg_class WHERE relname = %s", [KnowledgeChunkVector._meta.db_table]
        )
        row = cursor.fetchone()
    total = max(int(row[0]) if row else 0, scope, 1)
    _scope_sizes[key] = (now, scope, total)
    return scope, total


def ef_search_for(*, k: int, scope: int, total: int) -> int:
    """Enough index candidates that about ``k`` of them are in the scope after the filter."""
    share = max(scope / total, 1e-6)
    return int(min(EF_SEARCH_MAX, max(EF_SEARCH_MIN, math.ceil(2 * k / share))))


def _pgvector_nearest(account_id: int, collection_ids: list[int], query: np.ndarray, k: int, *, exact: bool):
    from pgvector.django import CosineDistance

    scope, total = _scope_size(account_id, collection_ids)
    exact = exact or scope <= EXACT_BELOW
    rows = KnowledgeChunkVector.objects.filter(account_id=account_id, collection_id__in=collection_ids)
    ranked = rows.annotate(distance=CosineDistance("embedding", query.tolist())).order_by("distance")
    with transaction.atomic(), connections["default"].cursor() as cursor:
        if exact:
            # Scan the scope through the (account, collection) index and sort: no ANN at all.
            cursor.execute("SET LOCAL enable_indexscan = off")
        else:
            cursor.execute(f"SET LOCAL hnsw.ef_search = {ef_search_for(k=k, scope=scope, total=total)}")
        found = list(ranked.values_list("chunk_id", "distance")[:k])
    return [(chunk_id, 1.0 - float(distance)) for chunk_id, distance in found]
