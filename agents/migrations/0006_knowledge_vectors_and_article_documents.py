"""The pgvector table (only where the ``vector`` extension is available), and every existing
article as a queued document of its account's "Articles" collection: retrieval indexes queued
article documents before it searches, so the demo keeps answering from them."""

import hashlib

from django.db import migrations

VECTOR_TABLE = "agents_knowledgechunkvector"


def vector_extension_available(connection) -> bool:
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'")
        return cursor.fetchone() is not None


def create_vector_table(apps, schema_editor):
    connection = schema_editor.connection
    if not vector_extension_available(connection):
        return
    with connection.cursor() as cursor:
        cursor.execute("CREATE EXTENSION IF NOT EXISTS vector")
        # The foreign key deletes a chunk's vector with it, whoever deletes the chunk (a
        # document, a collection or an account going).
        cursor.execute(
            f"CREATE TABLE {VECTOR_TABLE} ("
            " chunk_id bigint PRIMARY KEY REFERENCES agents_knowledgechunk(id) ON DELETE CASCADE,"
            " account_id bigint NOT NULL, collection_id bigint NOT NULL, embedding vector(384) NOT NULL)"
        )
        cursor.execute(
            f"CREATE INDEX {VECTOR_TABLE}_hnsw ON {VECTOR_TABLE} USING hnsw (embedding vector_cosine_ops)"
        )
        cursor.execute(f"CREATE INDEX {VECTOR_TABLE}_scope ON {VECTOR_TABLE} (account_id, collection_id)")


def drop_vector_table(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {VECTOR_TABLE}")


def article_hash(article) -> str:
    return hashlib.sha256(f"article:{article.pk}:{article.title}\n{article.body}".encode()).hexdigest()


def articles_to_documents(apps, schema_editor):
    Article = apps.get_model("agents", "KnowledgeArticle")
    Collection = apps.get_model("agents", "KnowledgeCollection")
    Document = apps.get_model("agents", "KnowledgeDocument")
    for account_id in Article.objects.values_list("account_id", flat=True).distinct():
        collection, _ = Collection.objects.get_or_create(
            account_id=account_id,
            slug="articles",
            defaults={
                "name": "Articles",
                "description": "The articles written in the app.",
                "holds_articles": True,
            },
        )
        for article in Article.objects.filter(account_id=account_id):
            Document.objects.get_or_create(
                article=article,
                defaults={
                    "account_id": account_id,
                    "collection": collection,
                    "title": article.title,
                    "source": "article",
                    "format": "markdown",
                    "content": b"",
                    "content_hash": article_hash(article),
                    "status": "queued",
                },
            )


class Migration(migrations.Migration):
    dependencies = [("agents", "0005_knowledge_collections_documents_chunks")]

    operations = [
        migrations.RunPython(create_vector_table, drop_vector_table),
        migrations.RunPython(articles_to_documents, migrations.RunPython.noop),
    ]
