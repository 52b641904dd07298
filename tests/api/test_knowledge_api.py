"""The knowledge API: collections, documents (written and uploaded), search; roles, per-field
400s, and another account's objects as 404."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import Membership

pytestmark = pytest.mark.django_db

BASE = "/api/accounts/acme"


@pytest.fixture
def operator_api(api_client_for, make_user, account):
    return api_client_for(make_user(account, role=Membership.Role.OPERATOR, username="olga"))


@pytest.fixture
def handbook(admin_api) -> dict:
    response = admin_api.post(f"{BASE}/collections", {"name": "Handbook", "description": "Office rules"})
    assert response.status_code == 201, response.content
    return response.json()


def _upload(api, collection_id: int, name: str, content: bytes, **extra):
    return api.client.post(
        f"{BASE}/collections/{collection_id}/upload",
        {"file": SimpleUploadedFile(name, content), **extra},
        **api._headers(),
    )


def test_an_admin_uploads_a_document_and_searches_it(
    admin_api, handbook, django_capture_on_commit_callbacks, eager_tasks
):
    content = b"# Vault\n\nThe vault opens at nine in the morning."
    with django_capture_on_commit_callbacks(execute=True):
        created = _upload(admin_api, handbook["id"], "vault.md", content)
    assert created.status_code == 201, created.content
    document = admin_api.get(f"{BASE}/documents/{created.json()['id']}").json()
    assert document["status"] == "ready" and document["chunk_count"] == 1
    again = _upload(admin_api, handbook["id"], "copy.md", content)
    assert again.status_code == 200 and again.json()["id"] == document["id"]

    listed = admin_api.get(f"{BASE}/collections/{handbook['id']}/documents").json()
    assert [d["title"] for d in listed] == ["Vault"]
    hits = admin_api.post(f"{BASE}/knowledge/search", {"query": "When does the vault open?"}).json()
    assert hits[0]["document_id"] == document["id"] and hits[0]["score"] > 0.45
    assert hits[0]["url"] == f"/knowledge/documents/{document['id']}/"

    assert admin_api.delete(f"{BASE}/documents/{document['id']}").status_code == 204
    assert admin_api.post(f"{BASE}/knowledge/search", {"query": "When does the vault open?"}).json() == []


def test_bad_input_is_a_400_naming_the_field(admin_api, handbook, settings):
    settings.KNOWLEDGE_MAX_DOCUMENT_BYTES = 100
    oversized = _upload(admin_api, handbook["id"], "big.txt", b"x" * 500)
    assert oversized.status_code == 400 and "file" in oversized.json()["errors"]
    unsupported = _upload(admin_api, handbook["id"], "deck.pptx", b"PK")
    assert unsupported.status_code == 400 and "file" in unsupported.json()["errors"]
    duplicate = admin_api.post(f"{BASE}/collections", {"name": "Handbook"})
    assert duplicate.status_code == 400 and "name" in duplicate.json()["errors"]
    unknown_reader = admin_api.post(
        f"{BASE}/collections", {"name": "X", "all_agents": False, "readers": ["nope"]}
    )
    assert unknown_reader.status_code == 400 and "readers" in unknown_reader.json()["errors"]
    empty_query = admin_api.post(f"{BASE}/knowledge/search", {"query": ""})
    assert empty_query.status_code == 400 and "query" in empty_query.json()["errors"]
    untitled = admin_api.post(f"{BASE}/collections/{handbook['id']}/documents", {"title": "", "text": "x"})
    assert untitled.status_code == 400 and "title" in untitled.json()["errors"]


def test_operators_read_admins_write_members_and_outsiders_see_nothing(
    operator_api, member_api, outsider_api, handbook
):
    assert operator_api.get(f"{BASE}/collections").status_code == 200
    assert operator_api.post(f"{BASE}/collections", {"name": "Mine"}).status_code == 403
    assert member_api.get(f"{BASE}/collections").status_code == 404
    assert outsider_api.get(f"{BASE}/collections").status_code == 404
    assert outsider_api.get(f"{BASE}/collections/{handbook['id']}/documents").status_code == 404
