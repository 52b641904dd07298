"""Knowledge retrieval at scale: top-5 latency on pgvector (HNSW) and on the embedded default,
HNSW recall@5 against exact search, and ingestion throughput with the real MiniLM model.

Builds ``--accounts`` accounts (default 10) of ``--chunks`` chunks each (default 100,000) in a
fresh database: PostgreSQL 16 + pgvector from the pgserver wheel (``--backend pgvector``) or a
SQLite file (``--backend embedded``). Vectors are synthetic (unit vectors around 2,000 topic
centres, so neighbours exist as in real text); the query is a noisy copy of a chunk of the
measured account. Latency is ``agents.knowledge.store.nearest``, the call retrieval makes, with
the account and collection filter in SQL. Ingestion is ``document_ingest`` on the demo articles
(real parsing, chunking and MiniLM embedding on this machine's CPUs). Usage::

    .venv/bin/python bench/retrieval.py [--backend both|pgvector|embedded] [--chunks 100000]
        [--accounts 10] [--queries 200]

Ends with ``goal: ... MET|MISSED`` lines (p50 < 20 ms and recall@5 >= 0.95 on pgvector;
ingestion >= 50 chunks/s).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DIMENSIONS = 384


def synthetic_vectors(count: int, rng: np.random.Generator, centres: np.ndarray) -> np.ndarray:
    picks = centres[rng.integers(0, len(centres), count)]
    vectors = picks + rng.normal(0, 0.35 / np.sqrt(DIMENSIONS) * 4, (count, DIMENSIONS)).astype(np.float32)
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def build(args, backend: str):
    """Accounts, one collection and one document each, and their chunks (and vectors)."""
    from django.db import connection

    from accounts.models import Account
    from agents.models import KnowledgeCollection, KnowledgeDocument

    rng = np.random.default_rng(7)
    centres = rng.normal(0, 1, (2000, DIMENSIONS)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    scopes = []
    next_id = 1
    started = time.monotonic()
    for number in range(args.accounts):
        account = Account.objects.create(slug=f"bench{number}", name=f"Bench {number}")
        collection = KnowledgeCollection.objects.create(account=account, slug="docs", name="Docs")
        document = KnowledgeDocument.objects.create(
            account=account,
            collection=collection,
            title="Synthetic",
            content_hash=f"bench{number}",
            status="ready",
        )
        vectors = synthetic_vectors(args.chunks, rng, centres)
        ids = np.arange(next_id, next_id + args.chunks)
        next_id += args.chunks
        if backend == "pgvector":
            _copy_postgres(connection, account.pk, collection.pk, document.pk, ids, vectors)
        else:
            _insert_sqlite(connection, account.pk, collection.pk, document.pk, ids, vectors)
        scopes.append((account.pk, collection.pk, ids, vectors))
        print(
            f"  account {number + 1}/{args.accounts}: {args.chunks:,} chunks "
            f"({time.monotonic() - started:.0f} s)"
        )
    return scopes, centres


def _copy_postgres(connection, account_id, collection_id, document_id, ids, vectors) -> None:
    """Binary COPY into both tables (the HNSW index is built once, after the load)."""
    from pgvector.psycopg import register_vector

    connection.ensure_connection()
    raw = connection.connection
    register_vector(raw)
    with raw.cursor() as cursor:
        with cursor.copy(
            "COPY agents_knowledgechunk (id, account_id, collection_id, document_id, position, paragraph,"
            " sentence, heading, text, terms, embedding) FROM STDIN WITH (FORMAT BINARY)"
        ) as copy:
            copy.set_types(
                ["int8", "int8", "int8", "int8", "int4", "int4", "int4", "text", "text", "text", "bytea"]
            )
            for i, (chunk_id, vector) in enumerate(zip(ids, vectors, strict=True)):
                row = (int(chunk_id), account_id, collection_id, document_id, i, i, 0)
                copy.write_row((*row, "", f"chunk {chunk_id}", "", vector.tobytes()))
        with cursor.copy(
            "COPY agents_knowledgechunkvector (chunk_id, account_id, collection_id, embedding)"
            " FROM STDIN WITH (FORMAT BINARY)"
        ) as copy:
            copy.set_types(["int8", "int8", "int8", "vector"])
            for chunk_id, vector in zip(ids, vectors, strict=True):
                copy.write_row((int(chunk_id), account_id, collection_id, vector))
    if not raw.autocommit:
        raw.commit()


def _hnsw_indexes(connection) -> list[tuple[str, str]]:
    """(name, definition) of the HNSW index on the vector table (on the partitioned parent: dropping
    or creating it does so on every partition)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes"
            " WHERE tablename = 'agents_knowledgechunkvector' AND indexdef LIKE '%%USING hnsw%%'"
            " ORDER BY indexname"
        )
        return list(cursor.fetchall())


def _drop_hnsw(connection) -> list[tuple[str, str]]:
    """Drop the HNSW indexes before the load (inserting into one costs a graph search per row)."""
    indexes = _hnsw_indexes(connection)
    with connection.cursor() as cursor:
        for name, _definition in indexes:
            cursor.execute(f"DROP INDEX {name}")
    return indexes


def _build_hnsw(connection, indexes: list[tuple[str, str]], rows: int) -> None:
    """The migration's HNSW indexes again, built over the loaded rows in bulk."""
    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute("SET maintenance_work_mem = '3GB'")
        cursor.execute("SET max_parallel_maintenance_workers = 1")
        for _name, definition in indexes:
            # pg_indexes shows a partitioned index as 'ON ONLY' (the parent alone, left invalid):
            # without ONLY, it is built on every partition.
            cursor.execute(definition.replace(" ON ONLY ", " ON "))
        cursor.execute("ANALYZE agents_knowledgechunkvector")
    seconds = time.monotonic() - started
    print(f"  HNSW build: {rows:,} vectors in {seconds:.0f} s ({rows / seconds:,.0f} vectors/s)")


def _insert_sqlite(connection, account_id, collection_id, document_id, ids, vectors) -> None:
    with connection.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO agents_knowledgechunk (id, account_id, collection_id, document_id, position,"
            " paragraph, sentence, heading, text, terms, embedding)"
            " VALUES (%s, %s, %s, %s, %s, %s, 0, '', %s, '', %s)",
            [
                (int(c), account_id, collection_id, document_id, i, i, f"chunk {c}", v.tobytes())
                for i, (c, v) in enumerate(zip(ids, vectors, strict=True))
            ],
        )


def measure(args, backend: str) -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from agents.knowledge import store

    print(f"[{backend}] migrating a fresh database")
    call_command("migrate", verbosity=0)
    assert store.backend_name() == backend, f"expected {backend}, got {store.backend_name()}"
    print(f"[{backend}] building {args.accounts} accounts x {args.chunks:,} chunks")
    indexes = _drop_hnsw(connection) if backend == "pgvector" else []
    scopes, _centres = build(args, backend)
    if backend == "pgvector":
        _build_hnsw(connection, indexes, args.accounts * args.chunks)
    account_id, collection_id, ids, vectors = scopes[0]
    rng = np.random.default_rng(11)
    queries = vectors[rng.integers(0, len(vectors), args.queries)] + rng.normal(
        0, 0.02, (args.queries, DIMENSIONS)
    ).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    truth = [set(ids[np.argsort(-(vectors @ q))[:5]].tolist()) for q in queries]

    if backend == "pgvector":
        store.EXACT_BELOW = 0  # the measured account goes through the HNSW index
    store.nearest(account_id=account_id, collection_ids=[collection_id], query=queries[0], k=5)  # warm
    timings, recall = [], []
    for query, expected in zip(queries, truth, strict=True):
        started = time.perf_counter()
        found = store.nearest(account_id=account_id, collection_ids=[collection_id], query=query, k=5)
        timings.append((time.perf_counter() - started) * 1000)
        recall.append(len({c for c, _ in found} & expected) / 5)
    p50, p95 = percentile(timings, 50), percentile(timings, 95)
    print(
        f"[{backend}] top-5 latency: p50 {p50:.1f} ms  p95 {p95:.1f} ms  "
        f"recall@5 vs exact {np.mean(recall):.3f}"
    )
    print(f"result {backend} p50_ms={p50:.2f} p95_ms={p95:.2f} recall5={np.mean(recall):.4f}")
    if backend == "pgvector":
        ef_sweep(account_id, collection_id, queries, truth)
    if backend == "embedded":
        ingestion_rate()


def ef_sweep(account_id: int, collection_id: int, queries: np.ndarray, truth: list[set[int]]) -> None:
    """The same filtered HNSW query at fixed ``hnsw.ef_search`` values (what the product's choice
    trades): p50 and recall@5 for each."""
    from django.db import connection, transaction
    from pgvector.django import CosineDistance

    from agents.models import KnowledgeChunkVector

    rows = KnowledgeChunkVector.objects.filter(account_id=account_id, collection_id__in=[collection_id])
    plan = rows.annotate(distance=CosineDistance("embedding", queries[0].tolist())).order_by("distance")[:5]
    nodes = [re.sub(r"'\[[^]]*\]'", "'[...]'", line.strip())[:100] for line in plan.explain().splitlines()]
    print("  plan: " + " | ".join(nodes[:4]))
    for ef in (40, 100, 200, 400, 1000):
        timings, recall = [], []
        for query, expected in zip(queries, truth, strict=True):
            started = time.perf_counter()
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(f"SET LOCAL hnsw.ef_search = {ef}")
                ranked = rows.annotate(distance=CosineDistance("embedding", query.tolist()))
                found = list(ranked.order_by("distance").values_list("chunk_id", flat=True)[:5])
            timings.append((time.perf_counter() - started) * 1000)
            recall.append(len(set(found) & expected) / 5)
        print(
            f"  ef_search {ef:>4}: p50 {percentile(timings, 50):.1f} ms  "
            f"p95 {percentile(timings, 95):.1f} ms  recall@5 {np.mean(recall):.3f}"
        )


def ingestion_rate() -> None:
    """Real ingestion (parse, chunk, MiniLM, save) of the demo articles as one uploaded document."""
    from accounts.models import Account
    from agents.knowledge.embeddings import warm_up
    from agents.knowledge.ingestion import collection_create, document_ingest
    from agents.models import KnowledgeDocument
    from agents.services import DEMO_ARTICLES_DIR

    warm_up()
    text = "\n\n".join(p.read_text(encoding="utf-8") for p in sorted(DEMO_ARTICLES_DIR.glob("*.md")))
    account = Account.objects.create(slug="ingest", name="Ingest")
    collection = collection_create(account_id=account.pk, name="Docs")
    document = KnowledgeDocument.objects.create(
        account=account,
        collection=collection,
        title="Demo articles",
        source="demo.md",
        format="markdown",
        content=text.encode(),
        content_hash="demo",
    )
    started = time.perf_counter()
    document_ingest(document_id=document.pk)
    seconds = time.perf_counter() - started
    document.refresh_from_db()
    print(f"[ingestion] {document.chunk_count} chunks in {seconds:.1f} s")
    # Other processes share these CPUs: the figure is only comparable at a similar load.
    print(f"  load: {os.getloadavg()[0]:.1f} (1 min average) on {os.cpu_count()} CPUs")
    print(f"result ingestion chunks_per_s={document.chunk_count / seconds:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backend", choices=["both", "pgvector", "embedded"], default="both")
    parser.add_argument("--chunks", type=int, default=100_000, help="chunks per account")
    parser.add_argument("--accounts", type=int, default=10)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DJANGO_DEBUG", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if args.child:
        measure(args, args.backend)
        return
    results: dict[str, dict[str, float]] = {}
    backends = ["pgvector", "embedded"] if args.backend == "both" else [args.backend]
    for backend in backends:
        with tempfile.TemporaryDirectory(prefix=f"bench-{backend}-") as directory:
            env = {**os.environ}
            server = None
            if backend == "pgvector":
                import pgserver

                server = pgserver.get_server(directory, cleanup_mode="stop")
                # Room for the table and its index in PostgreSQL's own cache (default 128 MB).
                server.psql("ALTER SYSTEM SET shared_buffers = '2GB';")
                server.cleanup()
                server = pgserver.get_server(directory, cleanup_mode="stop")
                env["DATABASE_URL"] = f"postgres://postgres@{urllib.parse.quote(directory, safe='')}/postgres"
            else:
                env["DATABASE_URL"] = f"sqlite:///{directory}/bench.sqlite3"
            try:
                child = subprocess.run(
                    [
                        sys.executable,
                        __file__,
                        "--child",
                        "--backend",
                        backend,
                        "--chunks",
                        str(args.chunks),
                        "--accounts",
                        str(args.accounts),
                        "--queries",
                        str(args.queries),
                    ],
                    env=env,
                    capture_output=True,
                    text=True,
                    cwd=ROOT,
                )
            finally:
                if server is not None:
                    server.cleanup()
            print(child.stdout, end="")
            if child.returncode:
                print(child.stderr[-3000:])
                sys.exit(child.returncode)
            for line in child.stdout.splitlines():
                if line.startswith("result "):
                    _, name, *pairs = line.split()
                    results[name] = {k: float(v) for k, v in (p.split("=") for p in pairs)}
    size = f"{args.accounts} accounts x {args.chunks:,} chunks"
    if "pgvector" in results:
        pg = results["pgvector"]
        print(
            f"goal: pgvector HNSW p50 < 20 ms ({size}): {pg['p50_ms']:.1f} ms "
            f"{'MET' if pg['p50_ms'] < 20 else 'MISSED'}"
        )
        print(
            f"goal: pgvector HNSW recall@5 >= 0.95 ({size}): {pg['recall5']:.3f} "
            f"{'MET' if pg['recall5'] >= 0.95 else 'MISSED'}"
        )
    if "embedded" in results:
        em = results["embedded"]
        print(
            f"embedded exact search ({size}): p50 {em['p50_ms']:.1f} ms, p95 {em['p95_ms']:.1f} ms, "
            "recall 1 by design"
        )
    if "ingestion" in results:
        rate = results["ingestion"]["chunks_per_s"]
        print(f"goal: ingestion >= 50 chunks/s: {rate:.1f} {'MET' if rate >= 50 else 'MISSED'}")


if __name__ == "__main__":
    main()
