"""The MCP servers JSON API: an account admin registers a server, discovers its tools and sets
their gate; the credential never comes back; bad input is a 400 naming the field; another
account's server is a 404 and its tools cannot go on an allowlist."""

import logging

import pytest
from django.test import Client

from accounts.auth import api_token_create
from accounts.models import Membership
from agents.mcp.models import McpServer
from tests.support.mcp_server import TOKEN, start_mcp_server

pytestmark = pytest.mark.django_db(transaction=True)


class Api:
    def __init__(self, user) -> None:
        _, raw = api_token_create(user=user, name="tests")
        self.client, self.headers = Client(), {"HTTP_AUTHORIZATION": f"Bearer {raw}"}

    def get(self, path):
        return self.client.get(path, **self.headers)

    def post(self, path, data=None):
        return self.client.post(path, data or {}, content_type="application/json", **self.headers)

    def patch(self, path, data):
        return self.client.patch(path, data, content_type="application/json", **self.headers)

    def put(self, path, data):
        return self.client.put(path, data, content_type="application/json", **self.headers)

    def delete(self, path):
        return self.client.delete(path, **self.headers)


@pytest.fixture
def mcp():
    server = start_mcp_server()
    yield server
    server.stop()


@pytest.fixture
def admin_api(make_user, account):
    return Api(make_user(account, role=Membership.Role.ADMIN, username="ada"))


@pytest.fixture
def member_api(member):
    return Api(member)


@pytest.fixture
def outsider_api(make_user, other_account):
    return Api(make_user(other_account, role=Membership.Role.ADMIN, username="mallory-admin"))


SERVERS = "/api/accounts/acme/mcp-servers"


@pytest.fixture
def server_json(admin_api, mcp) -> dict:
    response = admin_api.post(
        SERVERS, {"slug": "orders", "name": "Orders", "url": mcp.url, "credential": TOKEN}
    )
    assert response.status_code == 201, response.content
    return response.json()


def test_an_admin_registers_a_server_and_discovers_its_tools(admin_api, server_json, caplog):
    caplog.set_level(logging.DEBUG)
    assert server_json["credential"] == "****" + TOKEN[-4:] and server_json["health"] == "unknown"
    response = admin_api.post(f"{SERVERS}/{server_json['id']}/discover")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["health"] == "healthy"
    tools = {t["name"]: t for t in body["tools"]}
    assert tools["order_status"]["read_only"] and not tools["order_status"]["acts_on_live_system"]
    assert tools["refund_order"]["acts_on_live_system"]
    assert tools["refund_order"]["input_schema"]["properties"]["amount"]["type"] == "number"
    # The admin un-gates a tool, and it shows.
    refund = tools["refund_order"]
    changed = admin_api.patch(f"{SERVERS}/{body['id']}/tools/{refund['id']}", {"acts_on_live_system": False})
    assert changed.status_code == 200 and changed.json()["acts_on_live_system"] is False
    listing = admin_api.get(SERVERS)
    assert [s["slug"] for s in listing.json()] == ["orders"]
    for text in (response.content.decode(), listing.content.decode(), caplog.text):
        assert TOKEN not in text


def test_the_agent_allowlist_takes_a_discovered_tool_by_its_slug(admin_api, server_json, account):
    body = admin_api.post(f"{SERVERS}/{server_json['id']}/discover").json()
    slug = next(t["slug"] for t in body["tools"] if t["name"] == "order_status")
    agent = admin_api.get("/api/accounts/acme/agents").json()[0]
    data = {k: agent[k] for k in ("slug", "name", "description", "system_prompt")}
    data["template"] = agent["template"]["slug"]
    response = admin_api.put(f"/api/accounts/acme/agents/{agent['slug']}", {**data, "tools": [slug]})
    assert response.status_code == 200, response.content
    assert response.json()["tools"] == [slug]


def test_bad_input_is_a_400_naming_each_field(admin_api):
    response = admin_api.post(
        SERVERS, {"slug": "bad slug!", "name": "", "url": "ftp://x", "timeout_seconds": 0}
    )
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert {"slug", "url", "timeout_seconds"} <= set(errors)
    assert not McpServer.objects.exists()
    unknown = admin_api.post(SERVERS, {"slug": "x", "name": "X", "url": "http://127.0.0.1:9/mcp", "nope": 1})
    assert unknown.status_code == 400


def test_an_unreachable_server_is_a_502_and_shown_unhealthy(admin_api):
    created = admin_api.post(
        SERVERS, {"slug": "gone", "name": "Gone", "url": "http://127.0.0.1:9/mcp"}
    ).json()
    response = admin_api.post(f"{SERVERS}/{created['id']}/discover")
    assert response.status_code == 502 and "could not be reached" in response.json()["detail"]
    server = admin_api.get(f"{SERVERS}/{created['id']}").json()
    assert server["health"] == "unhealthy" and server["last_error"]


def test_members_read_and_only_admins_change(member_api, server_json):
    assert member_api.get(f"{SERVERS}/{server_json['id']}").status_code == 200
    assert (
        member_api.post(SERVERS, {"slug": "x", "name": "X", "url": "http://a.example/mcp"}).status_code == 403
    )
    assert member_api.delete(f"{SERVERS}/{server_json['id']}").status_code == 403


def test_another_accounts_server_is_invisible_and_unusable(
    outsider_api, admin_api, server_json, other_account
):
    body = admin_api.post(f"{SERVERS}/{server_json['id']}/discover").json()
    slug = body["tools"][0]["slug"]
    own = f"/api/accounts/{other_account.slug}/mcp-servers"
    assert outsider_api.get(own).json() == []
    for path in (f"{own}/{server_json['id']}", f"{SERVERS}/{server_json['id']}"):
        assert outsider_api.get(path).status_code == 404
    assert outsider_api.post(f"{own}/{server_json['id']}/discover").status_code == 404
    assert outsider_api.delete(f"{own}/{server_json['id']}").status_code == 404
    # Its tools cannot go on the other account's allowlist: as unknown as a missing tool.
    agent = outsider_api.get(f"/api/accounts/{other_account.slug}/agents").json()[0]
    data = {k: agent[k] for k in ("slug", "name", "description", "system_prompt")}
    data["template"] = agent["template"]["slug"]
    response = outsider_api.put(
        f"/api/accounts/{other_account.slug}/agents/{agent['slug']}", {**data, "tools": [slug]}
    )
    assert response.status_code == 400 and "Unknown tool" in str(response.json()["errors"]["tools"])


def test_a_global_server_is_shared_only_with_the_accounts_it_names(
    member_api, outsider_api, account, other_account, mcp
):
    shared = McpServer.objects.create(slug="kb", name="Shared KB", url=mcp.url)
    shared.allowed_accounts.add(account)
    assert [s["scope"] for s in member_api.get(SERVERS).json()] == ["global"]
    assert outsider_api.get(f"/api/accounts/{other_account.slug}/mcp-servers").json() == []
    # Account admins cannot change a global server.
    admin = Api(Membership.objects.get(account=account, user__username="alice").user)
    Membership.objects.filter(account=account, user__username="alice").update(role=Membership.Role.ADMIN)
    assert admin.patch(f"{SERVERS}/{shared.pk}", {"name": "Mine"}).status_code == 403


def test_an_account_cannot_register_a_local_command(admin_api):
    response = admin_api.post(
        SERVERS, {"slug": "x", "name": "X", "url": "http://a.example/mcp", "transport": "stdio"}
    )
    assert response.status_code == 400  # stdio is for staff, in admin
    assert "Only staff" in " ".join(response.json()["errors"]["transport"])
    assert not McpServer.objects.exists()
