from __future__ import annotations

import hashlib
from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.admin.sites import site
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from accounts.auth import api_token_create
from accounts.models import ApiToken
from tests.api.conftest import ApiClient

pytestmark = pytest.mark.django_db

URL = "/api/accounts/acme/agents"


def test_token_is_stored_only_as_a_hash(member):
    token, raw = api_token_create(user=member, name="ci")
    assert len(raw) >= 40
    assert token.key_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert token.prefix == raw[:8]
    stored = ApiToken.objects.filter(pk=token.pk).values()[0]
    assert raw not in {str(value) for value in stored.values()}


def test_valid_token_works_and_records_use(member):
    token, raw = api_token_create(user=member, name="ci")
    assert token.last_used_at is None
    response = ApiClient(raw).get(URL)
    assert response.status_code == 200
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_last_used_is_written_at_most_once_a_minute(member):
    token, raw = api_token_create(user=member, name="ci")
    recent = timezone.now() - timedelta(seconds=20)
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=recent)
    assert ApiClient(raw).get(URL).status_code == 200
    token.refresh_from_db()
    assert token.last_used_at == recent

    stale = timezone.now() - timedelta(minutes=5)
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=stale)
    assert ApiClient(raw).get(URL).status_code == 200
    token.refresh_from_db()
    assert token.last_used_at > stale


def assert_unauthorized(response) -> None:
    assert response.status_code == 401
    assert response.json() == {"detail": "Unauthorized"}
    assert response["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize("path", ["/api/agentic-workflows", URL, f"{URL}/assistant"])
def test_no_token_is_401(member, path):
    assert_unauthorized(Client().get(path))


def test_session_login_is_not_enough(member_client):
    assert_unauthorized(member_client.get(URL))


@pytest.mark.parametrize(
    "header", ["Bearer nope", "Bearer ", "Token abc", "Basic dXNlcjpwYXNz", "Bearer a b c"]
)
def test_bad_token_is_401(member, header):
    api_token_create(user=member, name="ci")
    assert_unauthorized(Client().get(URL, HTTP_AUTHORIZATION=header))


def test_revoked_token_is_401(member):
    token, raw = api_token_create(user=member, name="ci")
    assert ApiClient(raw).get(URL).status_code == 200
    token.revoked = True
    token.save()
    assert_unauthorized(ApiClient(raw).get(URL))
    assert_unauthorized(ApiClient(raw).post(URL, {"slug": "x", "name": "x", "template": "general-assistant"}))


def test_inactive_user_is_401(member):
    _, raw = api_token_create(user=member, name="ci")
    member.is_active = False
    member.save()
    assert_unauthorized(ApiClient(raw).get(URL))


def test_create_api_token_command(member):
    out = StringIO()
    call_command("create_api_token", "alice", "--name", "deploy script", stdout=out)
    raw = out.getvalue().strip().splitlines()[-1]
    token = ApiToken.objects.get(user=member)
    assert token.name == "deploy script"
    assert token.key_hash == hashlib.sha256(raw.encode()).hexdigest()
    response = ApiClient(raw).get(URL)
    assert response.status_code == 200
    assert [agent["slug"] for agent in response.json()] == ["assistant"]


def test_create_api_token_command_unknown_user(db):
    with pytest.raises(CommandError, match="No user named 'ghost'"):
        call_command("create_api_token", "ghost", stdout=StringIO())
    assert not ApiToken.objects.exists()


# --- Admin ----------------------------------------------------------------------------------


@pytest.fixture
def superuser_client(db) -> Client:
    user = get_user_model().objects.create_superuser("root", "root@example.com", "pw-root-123456")
    client = Client()
    client.force_login(user)
    return client


def test_admin_creates_a_token_and_shows_it_once(superuser_client, member):
    response = superuser_client.post(
        "/admin/accounts/apitoken/add/", {"user": member.pk, "name": "from admin"}, follow=True
    )
    assert response.status_code == 200
    token = ApiToken.objects.get(name="from admin")
    shown = [str(message) for message in response.context["messages"]]
    raw = next(m.split(" is ", 1)[1].split(" ", 1)[0] for m in shown if "new API token" in m)
    assert raw.startswith(token.prefix)
    assert token.key_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert ApiClient(raw).get(URL).status_code == 200

    page = superuser_client.get(f"/admin/accounts/apitoken/{token.pk}/change/").content.decode()
    assert raw not in page
    assert token.key_hash not in page


def test_admin_list_and_revoke_action(superuser_client, member):
    token, raw = api_token_create(user=member, name="to revoke")
    page = superuser_client.get("/admin/accounts/apitoken/").content.decode()
    assert token.prefix in page
    response = superuser_client.post(
        "/admin/accounts/apitoken/",
        {"action": "revoke", "_selected_action": [token.pk]},
        follow=True,
    )
    assert response.status_code == 200
    token.refresh_from_db()
    assert token.revoked
    assert_unauthorized(ApiClient(raw).get(URL))


def test_admin_key_fields_are_read_only(member):
    admin = site._registry[ApiToken]
    token, _ = api_token_create(user=member, name="x")
    assert "key_hash" not in admin.get_fields(None, token)
    assert {"prefix", "revoked", "last_used_at"} <= set(admin.get_readonly_fields(None, token))
