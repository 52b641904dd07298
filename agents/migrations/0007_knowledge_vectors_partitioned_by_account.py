"""The pgvector table partitioned by account (hash of ``account_id``, 16 partitions), each
partition with its own HNSW index.

pgvector 0.6 filters after the HNSW scan: of the ``hnsw.ef_search`` candidates only those of the
asker's account and collections survive. On one index over every account, an account holding a
tenth of the rows keeps a tenth of the candidates, so recall falls unless ``ef_search`` grows
tenfold (and latency with it). A query carrying ``account_id = ...`` reads only its account's
partition (partition pruning), whose graph holds that account and the few others hashed with it:
the filter keeps most candidates, and every graph is a sixteenth of the size to build and search.
Only where the table exists (PostgreSQL with the ``vector`` extension); rows are moved over.
"""

from django.db import migrations

VECTOR_TABLE = "agents_knowledgechunkvector"
PARTITIONS = 16


def partition(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    if VECTOR_TABLE not in connection.introspection.table_names():
        return
    old = f"{VECTOR_TABLE}_unpartitioned"
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {VECTOR_TABLE} RENAME TO {old}")
        cursor.execute(f"ALTER INDEX {VECTOR_TABLE}_hnsw RENAME TO {old}_hnsw")
        cursor.execute(f"ALTER INDEX {VECTOR_TABLE}_scope RENAME TO {old}_scope")
        cursor.execute(f"ALTER INDEX {VECTOR_TABLE}_pkey RENAME TO {old}_pkey")
        # The partition key must be part of the primary key; chunk_id alone stays unique (it is
        # the chunk's id). The foreign key still deletes a chunk's vector with it.
        cursor.execute(
            f"CREATE TABLE {VECTOR_TABLE} ("
            " chunk_id bigint NOT NULL REFERENCES agents_knowledgechunk(id) ON DELETE CASCADE,"
            " account_id bigint NOT NULL, collection_id bigint NOT NULL, embedding vector(384) NOT NULL,"
            " PRIMARY KEY (account_id, chunk_id)"
            ") PARTITION BY HASH (account_id)"
        )
        for number in range(PARTITIONS):
            cursor.execute(
                f"CREATE TABLE {VECTOR_TABLE}_p{number} PARTITION OF {VECTOR_TABLE}"
                f" FOR VALUES WITH (MODULUS {PARTITIONS}, REMAINDER {number})"
            )
        cursor.execute(
            f"INSERT INTO {VECTOR_TABLE} (chunk_id, account_id, collection_id, embedding)"  # noqa: S608
            f" SELECT chunk_id, account_id, collection_id, embedding FROM {old}"
        )
        cursor.execute(f"DROP TABLE {old}")
        cursor.execute(f"CREATE INDEX {VECTOR_TABLE}_chunk ON {VECTOR_TABLE} (chunk_id)")
        cursor.execute(f"CREATE INDEX {VECTOR_TABLE}_scope ON {VECTOR_TABLE} (account_id, collection_id)")
        cursor.execute(
            f"CREATE INDEX {VECTOR_TABLE}_hnsw ON {VECTOR_TABLE} USING hnsw (embedding vector_cosine_ops)"
        )


def unpartition(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    if VECTOR_TABLE not in connection.introspection.table_names():
        return
    old = f"{VECTOR_TABLE}_partitioned"
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {VECTOR_TABLE} RENAME TO {old}")
        for name in ("chunk", "scope", "hnsw", "pkey"):
            cursor.execute(f"ALTER INDEX {VECTOR_TABLE}_{name} RENAME TO {old}_{name}")
        cursor.execute(
            f"CREATE TABLE {VECTOR_TABLE} ("
            " chunk_id bigint PRIMARY KEY REFERENCES agents_knowledgechunk(id) ON DELETE CASCADE,"
            " account_id bigint NOT NULL, collection_id bigint NOT NULL, embedding vector(384) NOT NULL)"
        )
        cursor.execute(
            f"INSERT INTO {VECTOR_TABLE} SELECT chunk_id, account_id, collection_id, embedding FROM {old}"  # noqa: S608
        )
        cursor.execute(f"DROP TABLE {old}")
        cursor.execute(
            f"CREATE INDEX {VECTOR_TABLE}_hnsw ON {VECTOR_TABLE} USING hnsw (embedding vector_cosine_ops)"
        )
        cursor.execute(f"CREATE INDEX {VECTOR_TABLE}_scope ON {VECTOR_TABLE} (account_id, collection_id)")


class Migration(migrations.Migration):
    dependencies = [("agents", "0006_knowledge_vectors_and_article_documents")]

    operations = [migrations.RunPython(partition, unpartition)]
