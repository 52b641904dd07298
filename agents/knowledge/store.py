"""Nearest chunks to a query vector, within an account's collections.

Two back ends, chosen per database:

- **pgvector** (PostgreSQL with the ``vector`` extension: migrations 0006 and 0007 made the
  table): ``KnowledgeChunkVector`` is partitioned by a hash of the account (16 partitions), each
  with its own HNSW index, and queried through pgvector's Django integration with the account and
  collection filter in the same SQL statement, so the query reads only the asker's partition.
  pgvector 0.6 filters after the index scan, so ``hnsw.ef_search`` is raised (``SET LOCAL``, for
  this query only) in proportion to how small a share of that partition the scope is; if the
  filter still leaves fewer than ``k`` rows of a larger scope, the query is run again exactly. A
  scope small enough to scan (``EXACT_BELOW`` chunks) is searched exactly through the
  (account, collection) index instead. Measured in ``bench/retrieval.py``.
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
    """(chunks in the scope, chunks in the account's partition: what its HNSW graph holds),
    counted at most once a minute per process."""
    key = (account_id, tuple(sorted(collection_ids)))
    now = time.monotonic()
    cached = _scope_sizes.get(key)
    if cached is not None and now - cached[0] < STATS_SECONDS:
        return cached[1], cached[2]
    scope = KnowledgeChunkVector.objects.filter(
        account_id=account_id, collection_id__in=collection_ids
    ).count()
    table = KnowledgeChunkVector._meta.db_table
    with connections["default"].cursor() as cursor:
        # The partition the account's rows live in, and the planner's row estimate for it.
        cursor.execute(
            "SELECT c.oid::regclass::text, c.reltuples::bigint FROM pg_class c"  # noqa: S608 - model's table
            f" WHERE c.oid = (SELECT tableoid FROM {table} WHERE account_id = %s LIMIT 1)",
            [account_id],
        )
        row = cursor.fetchone()
        total = int(row[1]) if row else 0
        if row and total < scope:  # not analyzed since it grew: count it
            cursor.execute(f"SELECT count(*) FROM {row[0]}")  # noqa: S608 - a name from pg_class
            total = int(cursor.fetchone()[0])
    total = max(total, scope, 1)
    _scope_sizes[key] = (now, scope, total)
    return scope, total


def ef_search_for(*, k: int, scope: int, total: int) -> int:
    """Enough index candidates that about ``2 k`` of them are in the scope after the filter (within
    the account's partition, whose graph the query searches)."""
    share = max(scope / total, 1e-6)
    return int(min(EF_SEARCH_MAX, max(EF_SEARCH_MIN, math.ceil(2 * k / share))))


def _pgvector_nearest(account_id: int, collection_ids: list[int], query: np.ndarray, k: int, *, exact: bool):
    from pgvector.django import CosineDistance

    scope, total = _scope_size(account_id, collection_ids)
    exact = exact or scope <= EXACT_BELOW
    rows = KnowledgeChunkVector.objects.filter(account_id=account_id, collection_id__in=collection_ids)
    ranked = rows.annotate(distance=CosineDistance("embedding", query.tolist())).order_by("distance")
    found = _ranked(ranked, k, ef_search=None if exact else ef_search_for(k=k, scope=scope, total=total))
    if not exact and len(found) < min(k, scope):
        # The filter left too few of the index's candidates (a scope much smaller than its
        # partition): the exact scan of the scope is the answer.
        found = _ranked(ranked, k, ef_search=None)
    return [(chunk_id, 1.0 - float(distance)) for chunk_id, distance in found]


def _ranked(ranked, k: int, *, ef_search: int | None) -> list[tuple[int, float]]:
    with transaction.atomic(), connections["default"].cursor() as cursor:
        if ef_search is None:
            # Scan the scope through the (account, collection) index and sort: no ANN at all.
            cursor.execute("SET LOCAL enable_indexscan = off")
        else:
            cursor.execute(f"SET LOCAL hnsw.ef_search = {int(ef_search)}")
        return list(ranked.values_list("chunk_id", "distance")[:k])
