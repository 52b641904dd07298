"""The agents pages (/agents/): the account's agents for its operators and admins, one agent's
tools (with their MCP server's health), knowledge, routing and recent replies; the prompt and
other internals for admins only; another account's agent is a 404. Screenshots at 390 and
1366 px (browser test)."""

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from accounts.models import Membership
from agents.mcp.models import McpServer, McpTool
from agents.models import AgentInstance, KnowledgeCollection, Tool
from conversations.models import Conversation, Message
from tests.conftest import PASSWORD

SHOTS = Path(os.environ.get("SCREENSHOT_DIR", "/tmp/shots"))
PROMPT = "You are the billing desk; never quote list prices."


@pytest.fixture
def billing(account):
    assistant = AgentInstance.objects.get(account=account, slug="assistant")
    agent = AgentInstance.objects.create(
        account=account,
        template=assistant.template,
        slug="billing",
        name="Billing desk",
        description="Invoices and refunds.",
        model="openai/gpt-4o-mini",
        system_prompt=PROMPT,
        routing_examples=["Where is my invoice?", "Refund my order"],
        step_limit=7,
    )
    lookup = Tool.objects.create(slug="kb_lookup", name="Knowledge lookup", description="x", handler="kb")
    server = McpServer.objects.create(
        account=account,
        slug="orders",
        name="Orders system",
        url="http://127.0.0.1:9/mcp",
        health=McpServer.Health.UNHEALTHY,
        last_error="Connection refused",
    )
    refund = Tool.objects.create(
        slug="orders__refund", name="Refund order", description="x", handler="mcp", acts_on_live_system=True
    )
    McpTool.objects.create(server=server, name="refund_order", tool=refund)
    agent.tools.set([lookup, refund])
    agent.handoff_targets.set([assistant])
    KnowledgeCollection.objects.create(account=account, slug="handbook", name="Handbook")
    private = KnowledgeCollection.objects.create(
        account=account, slug="pricing", name="Pricing", all_agents=False
    )
    private.readers.set([agent])
    return agent


def _reply(account, user, agent, text):
    conversation = Conversation.objects.create(account=account, user=user, agent=agent, title=text)
    Message.objects.create(conversation=conversation, role=Message.Role.USER, content="question")
    Message.objects.create(conversation=conversation, role=Message.Role.ASSISTANT, content=text, agent=agent)
    return conversation


@pytest.fixture
def users(make_user, account):
    return {role: make_user(account, role=role, username=f"agp-{role}") for role in Membership.Role.values}


@pytest.mark.django_db
def test_the_list_shows_each_agent_and_marks_the_default(client, users, billing):
    client.force_login(users["operator"])
    page = client.get("/agents/").content.decode()
    billing_row = page[page.index('data-agent="billing"') :]
    billing_row = billing_row[: billing_row.index("</tr>")]
    assert "Billing desk" in billing_row and "data-default-agent" not in billing_row
    assert "<td data-tool-count>2</td>" in billing_row and "<td data-routing-count>2</td>" in billing_row
    assert "Handbook" in billing_row and "Pricing" in billing_row
    assistant_row = page[page.index('data-agent="assistant"') :]
    assistant_row = assistant_row[: assistant_row.index("</tr>")]
    assert "data-default-agent" in assistant_row and "Pricing" not in assistant_row
    # The model is an internal: an operator does not see it; the nav links the page.
    assert "openai/gpt-4o-mini" not in page and 'href="/agents/"' in page


@pytest.mark.django_db
def test_admins_see_the_model_and_staff_admins_an_admin_link(client, users, billing):
    admin = users["admin"]
    client.force_login(admin)
    page = client.get("/agents/").content.decode()
    assert "openai/gpt-4o-mini" in page and "Edit in admin" not in page
    admin.is_staff = True
    admin.save()
    page = client.get("/agents/").content.decode()
    assert f"/admin/agents/agentinstance/{billing.pk}/change/" in page


@pytest.mark.django_db
def test_members_are_refused_and_get_no_nav_link(client, users, billing):
    client.force_login(users["member"])
    assert client.get("/agents/").status_code == 403
    assert client.get("/agents/billing/").status_code == 403
    assert 'href="/agents/"' not in client.get("/chat/").content.decode()


@pytest.mark.django_db
def test_an_admin_sees_tools_with_approval_and_mcp_health_and_the_internals(client, users, billing):
    client.force_login(users["admin"])
    page = client.get("/agents/billing/").content.decode()
    refund = page[page.index('data-tool="orders__refund"') :]
    refund = refund[: refund.index("</tr>")]
    assert "MCP: Orders system" in refund and "waits for approval" in refund
    assert 'data-mcp-health="unhealthy"' in refund and "Last error: Connection refused" in refund
    lookup = page[page.index('data-tool="kb_lookup"') :]
    assert (
        "built-in" in lookup[: lookup.index("</tr>")] and "runs directly" in lookup[: lookup.index("</tr>")]
    )
    assert PROMPT in page and "Where is my invoice?" in page and "step limit 7" in page
    assert 'data-collection="pricing"' in page and 'data-collection="handbook"' in page


@pytest.mark.django_db
def test_an_operator_gets_the_agent_without_its_internals(client, users, billing):
    client.force_login(users["operator"])
    response = client.get("/agents/billing/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "step limit 7" in page and 'data-collection="pricing"' in page and "2 routing examples" in page
    for internal in (
        PROMPT,
        "Where is my invoice?",
        "openai/gpt-4o-mini",
        "orders__refund",
        "data-internals",
    ):
        assert internal not in page, internal


@pytest.mark.django_db
def test_recent_replies_link_only_conversations_the_viewer_may_see(client, users, account, billing):
    operator = users["operator"]
    own = _reply(account, operator, billing, "Your invoice is on its way.")
    others = _reply(account, users["member"], billing, "Secret refund details for someone else.")
    hidden = _reply(account, operator, billing, "A shadow answer.")
    hidden.purpose = Conversation.Purpose.SHADOW
    hidden.save()
    client.force_login(operator)
    page = client.get("/agents/billing/").content.decode()
    assert page.count("data-reply") == 2
    assert f'href="/chat/{own.pk}/"' in page and "Your invoice is on its way." in page
    assert f"/chat/{others.pk}/" not in page and "Secret refund details" not in page
    assert "in another member's conversation" in page and "A shadow answer." not in page


@pytest.mark.django_db
def test_another_accounts_agent_is_a_404(client, make_user, other_account, billing):
    outsider = make_user(other_account, role=Membership.Role.ADMIN)
    client.force_login(outsider)
    assert client.get("/agents/billing/").status_code == 404
    assert client.get("/agents/no-such-agent/").status_code == 404
    assert "Billing desk" not in client.get("/agents/").content.decode()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_pages_fit_a_phone_and_a_laptop(live_server, users, billing, new_page):
    # Data first: new_page starts Playwright's event loop, after which the ORM refuses sync calls.
    admin = users["admin"]
    SHOTS.mkdir(parents=True, exist_ok=True)
    for name, size in {"phone": (390, 844), "laptop": (1366, 768)}.items():
        page = new_page()
        page.set_viewport_size({"width": size[0], "height": size[1]})
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill('input[name="username"]', admin.username)
        page.fill('input[name="password"]', PASSWORD)
        page.click('button[type="submit"]')
        expect(page).to_have_url(re.compile(r"/chat/"))
        for path, shot in (("/agents/", "agents"), ("/agents/billing/", "agent-detail")):
            page.goto(f"{live_server.url}{path}")
            expect(page.locator("h1")).to_be_visible()
            assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
            page.screenshot(path=str(SHOTS / f"{shot}-{name}.png"), full_page=True)
        expect(page.locator('[data-tool="orders__refund"] [data-mcp-health="unhealthy"]')).to_be_visible()
        page.close()
