"""The pgvector path for real: HNSW index, the account and collection filter in SQL, vectors
deleted with their chunks. These need PostgreSQL with the ``vector`` extension; make test runs
them against a private PostgreSQL 16 + pgvector (pgserver) from test_knowledge_pgvector_runs.py.
"""

import re

import numpy as np
import pytest
from django.db import connection

from agents.knowledge import store
from agents.knowledge.embeddings import embed
from agents.knowledge.ingestion import collection_create, document_delete, document_upload
from agents.knowledge.retrieval import search
from agents.models import KnowledgeChunk, KnowledgeChunkVector

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _pgvector():
    if not store.pgvector_enabled():
        pytest.skip("needs PostgreSQL with pgvector (run by test_knowledge_pgvector_runs.py)")


@pytest.fixture
def ingest(django_capture_on_commit_callbacks, eager_tasks):
    def upload(collection, filename: str, content: bytes):
        with django_capture_on_commit_callbacks(execute=True):
            document, _ = document_upload(collection=collection, filename=filename, content=content)
        document.refresh_from_db()
        return document

    return upload


FACTS = {
    "acme": b"The Acme vault code for the server room door is 1111. Acme badges are blue.",
    "globex": b"The Globex vault code for the server room door is 2222. Globex badges are green.",
    "initech": b"The Initech vault code for the server room door is 3333. Initech badges are red.",
}


def test_the_vector_table_has_an_hnsw_index_and_follows_its_chunks(ingest, account):
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE tablename = 'agents_knowledgechunkvector'")
        indexes = " ".join(row[0] for row in cursor.fetchall())
    assert "USING hnsw (embedding vector_cosine_ops)" in indexes
    assert store.backend_name() == "pgvector"
    document = ingest(collection_create(account_id=account.pk, name="Vault"), "vault.md", FACTS["acme"])
    chunk_ids = list(KnowledgeChunk.objects.filter(document=document).values_list("id", flat=True))
    assert KnowledgeChunkVector.objects.filter(chunk_id__in=chunk_ids).count() == len(chunk_ids) == 2
    document_delete(document=document)
    assert not KnowledgeChunkVector.objects.filter(chunk_id__in=chunk_ids).exists()


@pytest.mark.parametrize("through_hnsw", [False, True])
def test_cross_account_matrix_a_query_returns_only_the_askers_chunks(
    ingest, make_account, monkeypatch, through_hnsw
):
    if through_hnsw:  # every scope goes through the HNSW index, however small
        monkeypatch.setattr(store, "EXACT_BELOW", 0)
    accounts = {slug: make_account(slug) for slug in FACTS}
    for slug, account in accounts.items():
        ingest(collection_create(account_id=account.pk, name="Vault"), f"{slug}.md", FACTS[slug])
    for asker_slug, asker in accounts.items():
        for about in FACTS:
            hits = search(account_id=asker.pk, query=f"What is the {about} vault code?", limit=5)
            texts = " ".join(h.passage.text for h in hits)
            assert hits, (asker_slug, about)
            for other, code in (("acme", "1111"), ("globex", "2222"), ("initech", "3333")):
                if other != asker_slug:
                    assert code not in texts, (asker_slug, about, texts)
            chunk_accounts = set(
                KnowledgeChunk.objects.filter(id__in=[h.passage.chunk_id for h in hits]).values_list(
                    "account_id", flat=True
                )
            )
            assert chunk_accounts == {asker.pk}


def test_hnsw_and_exact_search_agree_on_a_small_collection(ingest, account, monkeypatch):
    collection = collection_create(account_id=account.pk, name="Many")
    text = " ".join(f"Fact number {n} says the code of room {n} is {n * 7}." for n in range(60))
    ingest(collection, "many.txt", text.encode())
    query = embed(["the code of room 12"])[0]
    exact = store.nearest(account_id=account.pk, collection_ids=[collection.pk], query=query, k=5, exact=True)
    monkeypatch.setattr(store, "EXACT_BELOW", 0)
    approximate = store.nearest(account_id=account.pk, collection_ids=[collection.pk], query=query, k=5)
    assert [c for c, _ in approximate] == [c for c, _ in exact]
    assert np.allclose([s for _, s in approximate], [s for _, s in exact], atol=1e-4)


def test_a_query_reads_only_its_accounts_partition_and_that_partitions_hnsw_index(ingest, make_account):
    accounts = [make_account(slug) for slug in FACTS]
    collections = {}
    for account, slug in zip(accounts, FACTS, strict=True):
        collections[account.pk] = collection_create(account_id=account.pk, name="Vault")
        ingest(collections[account.pk], f"{slug}.md", FACTS[slug])
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_inherits WHERE inhparent = 'agents_knowledgechunkvector'::regclass"
        )
        assert cursor.fetchone()[0] == 16
        cursor.execute(
            "SELECT count(*) FROM pg_indexes WHERE tablename LIKE 'agents_knowledgechunkvector_p%%'"
            " AND indexdef LIKE '%%USING hnsw (embedding vector_cosine_ops)%%'"
        )
        assert cursor.fetchone()[0] == 16  # every partition has its own graph
    from pgvector.django import CosineDistance

    query = embed(["vault code"])[0].tolist()
    for account in accounts:
        rows = KnowledgeChunkVector.objects.filter(
            account_id=account.pk, collection_id__in=[collections[account.pk].pk]
        )
        plan = rows.annotate(distance=CosineDistance("embedding", query)).order_by("distance")[:5].explain()
        # Pruned to the account's partition: its graph is the only one the query can search.
        assert len(set(re.findall(r"agents_knowledgechunkvector_p\d+", plan))) == 1, plan
