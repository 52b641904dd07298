"""The MCP servers page: account admins register a server, discover its tools, set their gate
and see health, last error, call counts and latency; members get a 403; another account's server
is a 404; the credential is never on the page. Screenshots at 390 and 1366 px (browser test)."""

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from accounts.models import Membership
from agents.mcp.models import McpCall, McpServer, McpTool
from agents.mcp.services import mcp_server_create, mcp_server_discover
from tests.conftest import PASSWORD
from tests.support.mcp_server import TOKEN, start_mcp_server

pytestmark = pytest.mark.django_db(transaction=True)
SHOTS = Path(os.environ.get("SCREENSHOT_DIR", "/tmp/shots"))


@pytest.fixture
def mcp():
    server = start_mcp_server()
    yield server
    server.stop()


@pytest.fixture
def admin(make_user, account):
    return make_user(account, role=Membership.Role.ADMIN, username="ada")


def test_an_admin_registers_discovers_and_gates_from_the_page(client, admin, mcp):
    client.force_login(admin)
    response = client.post(
        "/tools/mcp/register/", {"slug": "orders", "name": "Orders", "url": mcp.url, "credential": TOKEN}
    )
    assert response.status_code == 302
    server = McpServer.objects.get(slug="orders")
    assert client.post(f"/tools/mcp/{server.pk}/discover/").status_code == 302
    refund = McpTool.objects.select_related("tool").get(server=server, name="refund_order")
    assert refund.tool.acts_on_live_system
    client.post(f"/tools/mcp/{server.pk}/tools/{refund.pk}/gate/", {})  # unticked: no approval
    refund.tool.refresh_from_db()
    assert refund.tool.acts_on_live_system is False
    McpCall.objects.create(
        server=server, tool=refund, account=server.account, idempotency_key="k1", outcome="ok", duration_ms=40
    )
    page = client.get("/tools/mcp/").content.decode()
    assert 'data-health="healthy"' in page and refund.tool.slug in page
    assert "1 call, 0 errors, mean 40.0 ms, p95 40 ms" in page
    assert TOKEN not in page and "****" + TOKEN[-4:] in page


def test_bad_input_comes_back_with_each_fields_message_and_saves_nothing(client, admin):
    client.force_login(admin)
    response = client.post("/tools/mcp/register/", {"slug": "bad slug", "name": "X", "url": "ftp://x"})
    assert response.status_code == 400
    body = response.content.decode()
    assert "letters, numbers, underscores or hyphens" in body and "http:// or https://" in body
    assert not McpServer.objects.exists()


def test_an_unreachable_server_shows_unhealthy_with_its_last_error(client, admin, account):
    client.force_login(admin)
    server = mcp_server_create(
        account=account, data={"slug": "gone", "name": "Gone", "url": "http://127.0.0.1:9/mcp"}
    )
    client.post(f"/tools/mcp/{server.pk}/discover/")
    page = client.get("/tools/mcp/").content.decode()
    assert 'data-health="unhealthy"' in page and "Last error:" in page


def test_members_are_refused_and_other_accounts_servers_are_not_found(client, member, outsider, account, mcp):
    server = mcp_server_create(account=account, data={"slug": "orders", "name": "Orders", "url": mcp.url})
    client.force_login(member)
    assert client.get("/tools/mcp/").status_code == 403
    Membership.objects.filter(user=outsider).update(role=Membership.Role.ADMIN)
    client.force_login(outsider)
    assert "Orders" not in client.get("/tools/mcp/").content.decode()
    assert client.post(f"/tools/mcp/{server.pk}/discover/").status_code == 404
    assert client.post(f"/tools/mcp/{server.pk}/remove/").status_code == 404
    assert McpServer.objects.filter(pk=server.pk).exists()


@pytest.fixture
def discovered(make_user, account, mcp):
    admin = make_user(account, role=Membership.Role.ADMIN, username="mcp-admin")
    server = mcp_server_create(
        account=account, data={"slug": "orders", "name": "Orders", "url": mcp.url, "credential": TOKEN}
    )
    mcp_server_discover(server=server)
    return admin


@pytest.mark.browser
def test_the_page_fits_a_phone_and_a_laptop(live_server, discovered, new_page):
    SHOTS.mkdir(parents=True, exist_ok=True)
    for name, size in {"phone": (390, 844), "laptop": (1366, 768)}.items():
        page = new_page()
        page.set_viewport_size({"width": size[0], "height": size[1]})
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill('input[name="username"]', discovered.username)
        page.fill('input[name="password"]', PASSWORD)
        page.click('button[type="submit"]')
        expect(page).to_have_url(re.compile(r"/chat/"))
        page.goto(f"{live_server.url}/tools/mcp/")
        expect(page.locator('[data-mcp-server="orders"] .badge-live')).to_have_text("healthy")
        expect(page.locator('[data-mcp-tool="refund_order"]')).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
        page.screenshot(path=str(SHOTS / f"mcp-servers-{name}.png"), full_page=True)
        page.close()
