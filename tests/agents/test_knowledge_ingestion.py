"""Knowledge collections: ingestion of each format, idempotent uploads, re-index and delete, and
retrieval that keeps to the account and to the collections an agent reads."""

import pytest
from django.core.exceptions import ValidationError

from agents.knowledge.ingestion import (
    collection_create,
    collection_readers_set,
    document_delete,
    document_reindex,
    document_upload,
    document_write,
)
from agents.knowledge.retrieval import search
from agents.models import KnowledgeArticle, KnowledgeChunk, KnowledgeDocument
from tests.support.documents import text_pdf

pytestmark = pytest.mark.django_db

VAULT = b"# Vault\n\n## Opening hours\n\nThe vault opens at nine in the morning. It closes at five."


@pytest.fixture
def ingest(django_capture_on_commit_callbacks, eager_tasks):
    """Upload through the service and run the queued ingestion, as the worker would."""

    def upload(collection, filename: str, content: bytes, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            document, created = document_upload(
                collection=collection, filename=filename, content=content, **kwargs
            )
        document.refresh_from_db()
        return document, created

    return upload


@pytest.fixture
def handbook(account):
    return collection_create(account_id=account.pk, name="Handbook", description="Office rules")


def _texts(document) -> list[str]:
    return list(KnowledgeChunk.objects.filter(document=document).values_list("text", flat=True))


@pytest.mark.parametrize(
    ("filename", "content", "expected"),
    [
        ("vault.md", VAULT, "The vault opens at nine in the morning."),
        ("vault.txt", b"The vault opens at nine in the morning.\n\nBring a badge.", "Bring a badge."),
        (
            "vault.html",
            b"<html><head><title>Vault</title><style>p{color:red}</style></head><body>"
            b"<h2>Hours</h2><p>The vault opens at nine in the morning.</p>"
            b"<script>var x=1;</script></body></html>",
            "The vault opens at nine in the morning.",
        ),
        (
            "vault.pdf",
            text_pdf(["The vault opens at nine in the morning.", "Bring a badge."]),
            "Bring a badge.",
        ),
    ],
)
def test_each_format_is_ingested_into_chunks_and_answers(
    ingest, handbook, account, filename, content, expected
):
    document, created = ingest(handbook, filename, content)
    assert created
    assert document.status == KnowledgeDocument.Status.READY, document.error
    assert document.stage == "embedded"
    assert document.progress_done == document.progress_total == document.chunk_count > 0
    assert expected in _texts(document)
    assert not any("color:red" in t or "var x" in t for t in _texts(document))
    hits = search(account_id=account.pk, query="When does the vault open?")
    assert hits and hits[0].passage.document_id == document.pk


def test_markdown_chunks_keep_the_heading_above_them(ingest, handbook):
    document, _ = ingest(handbook, "vault.md", VAULT)
    chunk = KnowledgeChunk.objects.get(document=document, text__startswith="The vault opens")
    assert chunk.heading == "Opening hours"


def test_a_malformed_pdf_fails_with_its_reason_and_no_chunks(ingest, handbook, account):
    document, _ = ingest(handbook, "broken.pdf", b"%PDF-1.4\n1 0 obj << /Type /Catalog >> garbage")
    assert document.status == KnowledgeDocument.Status.FAILED
    assert "not a readable PDF" in document.error
    assert document.chunk_count == 0
    assert not KnowledgeChunk.objects.filter(document=document).exists()


def test_an_oversized_file_is_refused_before_anything_is_saved(handbook, settings):
    settings.KNOWLEDGE_MAX_DOCUMENT_BYTES = 1000
    with pytest.raises(ValidationError) as refused:
        document_upload(collection=handbook, filename="big.txt", content=b"word " * 300)
    assert "limit is 1,000 bytes" in refused.value.message_dict["file"][0]
    assert not KnowledgeDocument.objects.exists()


def test_an_unsupported_or_empty_file_is_refused_naming_the_field(handbook):
    for filename, content in (("slides.pptx", b"PK..."), ("empty.md", b"")):
        with pytest.raises(ValidationError) as refused:
            document_upload(collection=handbook, filename=filename, content=content)
        assert "file" in refused.value.message_dict
    assert not KnowledgeDocument.objects.exists()


def test_uploading_the_same_content_again_returns_the_same_document(ingest, handbook):
    first, created = ingest(handbook, "vault.md", VAULT)
    again, created_again = ingest(handbook, "vault-copy.md", VAULT)
    assert created and not created_again
    assert again.pk == first.pk
    assert KnowledgeDocument.objects.count() == 1
    assert KnowledgeChunk.objects.count() == first.chunk_count


def test_reindex_builds_a_new_version_and_delete_removes_the_chunks(
    handbook, ingest, django_capture_on_commit_callbacks, account
):
    document, _ = ingest(handbook, "vault.md", VAULT)
    before = set(KnowledgeChunk.objects.filter(document=document).values_list("id", flat=True))
    with django_capture_on_commit_callbacks(execute=True):
        document_reindex(document=document)
    document.refresh_from_db()
    after = set(KnowledgeChunk.objects.filter(document=document).values_list("id", flat=True))
    assert document.version == 2 and document.status == KnowledgeDocument.Status.READY
    assert len(after) == len(before) and not after & before

    document_delete(document=document)
    assert not KnowledgeChunk.objects.filter(id__in=after).exists()
    assert search(account_id=account.pk, query="When does the vault open?") == []


def test_written_documents_are_ingested_like_uploads(
    handbook, django_capture_on_commit_callbacks, eager_tasks
):
    with django_capture_on_commit_callbacks(execute=True):
        document, _ = document_write(collection=handbook, title="Parking", text="Visitors park on level 2.")
    document.refresh_from_db()
    assert document.status == KnowledgeDocument.Status.READY
    with pytest.raises(ValidationError) as refused:
        document_write(collection=handbook, title="", text="x")
    assert "title" in refused.value.message_dict


def test_a_query_never_returns_another_accounts_chunks(ingest, account, other_account):
    theirs = collection_create(account_id=other_account.pk, name="Secrets")
    ingest(theirs, "codes.md", b"The Globex vault code for the server room door is 4471.")
    assert search(account_id=account.pk, query="What is the vault code for the server room door?") == []
    # Even naming the other account's collection explicitly finds nothing.
    found = search(account_id=account.pk, query="vault code server room door", collection_ids=[theirs.pk])
    assert found == []


def test_an_agent_without_access_to_a_collection_never_retrieves_from_it(ingest, account, make_account):
    from agents.models import AgentInstance

    assistant = AgentInstance.objects.get(account=account, slug="assistant")
    sales = AgentInstance.objects.create(
        account=account, template=assistant.template, slug="sales", name="Sales"
    )
    pricing = collection_create(
        account_id=account.pk, name="Price list", all_agents=False, reader_slugs=["sales"]
    )
    ingest(pricing, "prices.md", b"The Team plan costs 49 dollars per agent per month.")
    question = "How much does the Team plan cost per agent?"

    assert search(account_id=account.pk, query=question, agent_slug=sales.slug)
    assert search(account_id=account.pk, query=question, agent_slug=assistant.slug) == []
    collection_readers_set(collection=pricing, all_agents=False, reader_slugs=["assistant"])
    assert search(account_id=account.pk, query=question, agent_slug=assistant.slug)
    assert search(account_id=account.pk, query=question, agent_slug=sales.slug) == []
    with pytest.raises(ValidationError) as refused:
        collection_readers_set(collection=pricing, all_agents=False, reader_slugs=["nobody"])
    assert "readers" in refused.value.message_dict


def test_the_knowledge_search_tool_keeps_to_the_calling_agents_collections(ingest, account):
    from agents.catalog.install import tools_install
    from agents.models import AgentInstance
    from agents.runtime.toolbox import run_tool
    from agents.tools.registry import ToolContext

    tool = tools_install()["knowledge_search"]
    assistant = AgentInstance.objects.get(account=account, slug="assistant")
    sales = AgentInstance.objects.create(
        account=account, template=assistant.template, slug="sales", name="Sales"
    )
    pricing = collection_create(
        account_id=account.pk, name="Price list", all_agents=False, reader_slugs=["sales"]
    )
    ingest(pricing, "prices.md", b"The Team plan costs 49 dollars per agent per month.")

    def tool_results(agent: AgentInstance) -> list[dict]:
        context = ToolContext(
            account_id=account.pk, conversation_id=None, user_id=None, idempotency_key="k", agent_id=agent.pk
        )
        ok, result = run_tool(tool, {"query": "How much does the Team plan cost per agent?"}, context)
        assert ok
        return result["results"]

    assert any("49 dollars" in r["text"] for r in tool_results(sales))
    assert not any("49 dollars" in r["text"] for r in tool_results(assistant))


def test_articles_are_documents_of_the_articles_collection(account):
    article = KnowledgeArticle.objects.create(
        account=account, slug="lunch", title="Canteen", body="The canteen serves lunch from noon to 2 pm."
    )
    hits = search(account_id=account.pk, query="When is lunch served in the canteen?")
    assert hits[0].passage.article_id == article.pk
    document = KnowledgeDocument.objects.get(article=article)
    assert document.collection.holds_articles and document.status == KnowledgeDocument.Status.READY
