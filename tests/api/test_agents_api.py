from __future__ import annotations

import pytest

from accounts.models import Membership
from agents.models import AgentInstance, AgentTemplate

pytestmark = pytest.mark.django_db

AGENTS = "/api/accounts/acme/agents"


def agent_body(**overrides) -> dict:
    body = {
        "slug": "researcher",
        "name": "Researcher",
        "template": "researcher",
        "description": "Looks things up.",
        "model": "",
        "system_prompt": "Be thorough.",
        "config": {"max_results": 20},
        "tools": ["search-kb"],
        "handoff_targets": ["assistant"],
        "routing_examples": ["find me the docs on billing"],
        "step_limit": 5,
        "status": "active",
    }
    body.update(overrides)
    return body


@pytest.fixture
def researcher(admin_api, search_template, tools) -> dict:
    response = admin_api.post(AGENTS, agent_body())
    assert response.status_code == 201, response.json()
    return response.json()


# --- Templates ----------------------------------------------------------------------------


def test_templates_list(member_api, search_template):
    AgentTemplate.objects.create(slug="researcher", name="Researcher", version="2", allowed_tiers=["team"])
    response = member_api.get("/api/agentic-workflows")
    assert response.status_code == 200
    by_key = {(t["slug"], t["version"]): t for t in response.json()}
    assert set(by_key) == {("general-assistant", "1"), ("researcher", "1"), ("researcher", "2")}
    assert by_key["researcher", "1"] == {
        "slug": "researcher",
        "name": "Researcher",
        "workflow_kind": "research",
        "version": "1",
        "description": "",
        "config_schema": search_template.config_schema,
        "default_config": {"max_results": 10},
        "allowed_tiers": [],
    }
    assert by_key["researcher", "2"]["allowed_tiers"] == ["team"]


# --- Reads --------------------------------------------------------------------------------


def test_list_agents(member_api, researcher):
    response = member_api.get(AGENTS)
    assert response.status_code == 200
    assert [agent["slug"] for agent in response.json()] == ["assistant", "researcher"]


def test_get_agent(admin_api, researcher):
    response = admin_api.get(f"{AGENTS}/researcher")
    assert response.status_code == 200
    agent = response.json()
    assert agent == researcher
    assert agent["template"] == {"slug": "researcher", "version": "1"}
    assert agent["tools"] == ["search-kb"]
    assert agent["handoff_targets"] == ["assistant"]
    assert set(agent) == {
        "slug", "name", "template", "description", "model", "system_prompt", "config", "tools",
        "handoff_targets", "routing_examples", "step_limit", "status", "created_at", "updated_at",
    }  # fmt: skip


def test_get_unknown_agent_is_404(member_api):
    response = member_api.get(f"{AGENTS}/nope")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


def test_unknown_account_is_404(member_api):
    response = member_api.get("/api/accounts/no-such-account/agents")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


# --- Writes -------------------------------------------------------------------------------


def test_create_agent(researcher, account):
    assert researcher["slug"] == "researcher"
    assert researcher["config"] == {"max_results": 20}
    assert researcher["routing_examples"] == ["find me the docs on billing"]
    agent = AgentInstance.objects.get(account=account, slug="researcher")
    assert [t.slug for t in agent.tools.all()] == ["search-kb"]
    assert [a.slug for a in agent.handoff_targets.all()] == ["assistant"]
    assert agent.step_limit == 5
    assert not agent.is_default


def test_create_uses_the_newest_template_version_unless_told(admin_api, search_template, tools):
    AgentTemplate.objects.create(slug="researcher", name="Researcher", version="10")
    AgentTemplate.objects.create(slug="researcher", name="Researcher", version="9")
    response = admin_api.post(AGENTS, agent_body())
    assert response.status_code == 201, response.json()
    assert response.json()["template"] == {"slug": "researcher", "version": "10"}

    response = admin_api.post(AGENTS, agent_body(slug="pinned", template_version="1"))
    assert response.status_code == 201, response.json()
    assert response.json()["template"] == {"slug": "researcher", "version": "1"}

    response = admin_api.post(AGENTS, agent_body(slug="other", template_version="7"))
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["template_version"]


def test_update_agent(admin_api, researcher, account):
    body = agent_body(
        name="Deep researcher",
        config={"max_results": 50},
        tools=["open-ticket", "search-kb"],
        handoff_targets=[],
        status="suspended",
    )
    response = admin_api.put(f"{AGENTS}/researcher", body)
    assert response.status_code == 200, response.json()
    updated = response.json()
    assert updated["name"] == "Deep researcher"
    assert updated["config"] == {"max_results": 50}
    assert updated["tools"] == ["open-ticket", "search-kb"]
    assert updated["handoff_targets"] == []
    assert updated["status"] == "suspended"
    assert updated["created_at"] == researcher["created_at"]
    agent = AgentInstance.objects.get(account=account, slug="researcher")
    assert agent.status == "suspended"
    assert agent.tools.count() == 2


def test_update_can_rename_the_slug(admin_api, researcher):
    response = admin_api.put(f"{AGENTS}/researcher", agent_body(slug="finder"))
    assert response.status_code == 200, response.json()
    assert admin_api.get(f"{AGENTS}/finder").status_code == 200
    assert admin_api.get(f"{AGENTS}/researcher").status_code == 404


def test_update_keeps_the_template_version_when_none_is_given(admin_api, researcher):
    AgentTemplate.objects.create(slug="researcher", name="Researcher", version="2")
    response = admin_api.put(f"{AGENTS}/researcher", agent_body(name="Renamed"))
    assert response.status_code == 200, response.json()
    assert response.json()["template"] == {"slug": "researcher", "version": "1"}


def test_delete_agent(admin_api, researcher, account):
    response = admin_api.delete(f"{AGENTS}/researcher")
    assert response.status_code == 204
    assert response.content == b""
    assert not AgentInstance.objects.filter(account=account, slug="researcher").exists()
    assert admin_api.delete(f"{AGENTS}/researcher").status_code == 404


# --- Invalid input ------------------------------------------------------------------------


def assert_invalid(response, errors: dict[str, list[str]] | None = None, *, fields=None) -> dict:
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["detail"] == "Invalid input"
    if errors is not None:
        assert body["errors"] == errors
    if fields is not None:
        assert set(body["errors"]) == set(fields), body["errors"]
    return body["errors"]


def test_create_with_invalid_config(admin_api, search_template, tools, account):
    response = admin_api.post(AGENTS, agent_body(config={"max_results": 500}))
    assert_invalid(response, {"config": ["max_results: 500 is greater than the maximum of 50"]})

    response = admin_api.post(AGENTS, agent_body(config={"max_results": "many", "colour": "red"}))
    errors = assert_invalid(response, fields=["config"])
    assert len(errors["config"]) == 2
    assert "Additional properties are not allowed ('colour' was unexpected)" in errors["config"][0]
    assert errors["config"][1] == "max_results: 'many' is not of type 'integer'"
    assert not AgentInstance.objects.filter(account=account, slug="researcher").exists()


def test_update_with_invalid_config_changes_nothing(admin_api, researcher, account):
    response = admin_api.put(f"{AGENTS}/researcher", agent_body(name="Changed", config={"max_results": 51}))
    assert_invalid(response, {"config": ["max_results: 51 is greater than the maximum of 50"]})
    agent = AgentInstance.objects.get(account=account, slug="researcher")
    assert agent.name == "Researcher"
    assert agent.config == {"max_results": 20}


def test_create_with_unknown_tool(admin_api, search_template, tools):
    response = admin_api.post(AGENTS, agent_body(tools=["search-kb", "launch-missiles"]))
    assert_invalid(response, {"tools": ["Unknown tool: launch-missiles."]})


def test_create_with_unknown_template(admin_api, tools):
    response = admin_api.post(AGENTS, agent_body(template="nope", tools=["nope-tool"]))
    assert_invalid(response, {"template": ["Unknown template: nope."], "tools": ["Unknown tool: nope-tool."]})


def test_create_with_foreign_handoff_target(admin_api, search_template, tools, other_account):
    # Globex has an "assistant" too, but "helper" exists only there.
    AgentInstance.objects.create(
        account=other_account, template=search_template, slug="helper", name="Helper"
    )
    response = admin_api.post(AGENTS, agent_body(handoff_targets=["assistant", "helper"]))
    assert_invalid(response, {"handoff_targets": ["No agent of this account has the slug: helper."]})


def test_handoff_to_itself_is_refused(admin_api, researcher):
    response = admin_api.put(f"{AGENTS}/researcher", agent_body(handoff_targets=["researcher"]))
    assert_invalid(response, {"handoff_targets": ["An agent cannot hand off to itself."]})


def test_create_with_duplicate_slug(admin_api, researcher, account):
    response = admin_api.post(AGENTS, agent_body(name="Second"))
    assert_invalid(response, {"slug": ["This account already has an agent with this slug."]})
    assert AgentInstance.objects.filter(account=account, slug="researcher").count() == 1


def test_rename_onto_an_existing_slug(admin_api, researcher):
    response = admin_api.put(f"{AGENTS}/researcher", agent_body(slug="assistant", handoff_targets=[]))
    assert_invalid(response, {"slug": ["This account already has an agent with this slug."]})


def test_same_slug_in_another_account_is_fine(
    api_client_for, make_user, other_account, search_template, tools
):
    other_admin = api_client_for(make_user(other_account, role=Membership.Role.ADMIN))
    response = other_admin.post("/api/accounts/globex/agents", agent_body(handoff_targets=[]))
    assert response.status_code == 201, response.json()


def test_model_field_errors_are_per_field(admin_api, search_template, tools):
    response = admin_api.post(
        AGENTS, agent_body(slug="not a slug!", step_limit=99, status="asleep", extra_field=1)
    )
    # The schema rejects the status and the unknown field before the model sees anything.
    errors = assert_invalid(response, fields=["status", "extra_field"])
    assert errors["extra_field"] == ["Extra inputs are not permitted"]

    response = admin_api.post(AGENTS, agent_body(slug="not a slug!", step_limit=99, routing_examples=[" "]))
    errors = assert_invalid(response, fields=["slug", "routing_examples"])
    assert "valid “slug”" in errors["slug"][0]


def test_wrong_types_name_the_nested_field(admin_api, search_template, tools):
    response = admin_api.post(AGENTS, agent_body(step_limit="lots", tools=["search-kb", 3], config=[]))
    errors = assert_invalid(response, fields=["step_limit", "tools.1", "config"])
    assert errors["step_limit"] == ["Input should be a valid integer, unable to parse string as an integer"]


def test_missing_fields(admin_api, search_template):
    response = admin_api.post(AGENTS, {"name": "No slug"})
    assert_invalid(response, {"slug": ["Field required"], "template": ["Field required"]})
    response = admin_api.post(AGENTS, {})
    assert_invalid(response, fields=["slug", "name", "template"])
    response = admin_api.post(AGENTS, raw="")
    assert_invalid(response, {"body": ["Field required"]})
    response = admin_api.post(AGENTS, raw="[1, 2]")
    assert_invalid(response, fields=["body"])


def test_malformed_json(admin_api, search_template, account):
    count = AgentInstance.objects.count()
    response = admin_api.post(AGENTS, raw='{"slug": "x", ')
    assert response.status_code == 400
    assert response.json() == {"detail": "Cannot parse request body"}
    response = admin_api.put(f"{AGENTS}/assistant", raw="not json")
    assert response.status_code == 400
    assert AgentInstance.objects.count() == count


def test_template_not_on_the_account_tier(admin_api, account, tools):
    AgentTemplate.objects.create(slug="enterprise-only", name="Big", allowed_tiers=["enterprise"])
    response = admin_api.post(AGENTS, agent_body(template="enterprise-only", config={}))
    errors = assert_invalid(response, fields=["template"])
    assert "not available on the Team tier" in errors["template"][0]


# --- Who may do what ----------------------------------------------------------------------


def snapshot() -> list:
    return list(
        AgentInstance.objects.order_by("pk").values_list(
            "pk", "account_id", "slug", "name", "status", "config"
        )
    )


def test_outsider_gets_404_on_every_route_and_changes_nothing(outsider_api, researcher):
    before = snapshot()
    responses = {
        "list": outsider_api.get(AGENTS),
        "create": outsider_api.post(AGENTS, agent_body(slug="intruder", handoff_targets=[])),
        "get": outsider_api.get(f"{AGENTS}/researcher"),
        "put": outsider_api.put(f"{AGENTS}/researcher", agent_body(name="Pwned", handoff_targets=[])),
        "delete": outsider_api.delete(f"{AGENTS}/researcher"),
        "get-unknown": outsider_api.get(f"{AGENTS}/nope"),
    }
    for route, response in responses.items():
        assert response.status_code == 404, route
        assert response.json() == {"detail": "Not found."}, route
    assert snapshot() == before
    # And it is answered exactly as for an account that does not exist.
    assert outsider_api.get("/api/accounts/nope/agents").json() == responses["list"].json()


def test_user_without_account_gets_404(api_client_for, make_user, researcher):
    loner = api_client_for(make_user())
    assert loner.get(AGENTS).status_code == 404
    assert loner.get(f"{AGENTS}/researcher").status_code == 404


@pytest.mark.parametrize("role", [Membership.Role.MEMBER, Membership.Role.OPERATOR])
def test_non_admin_member_may_read_but_not_write(api_client_for, make_user, account, researcher, role):
    client = api_client_for(make_user(account, role=role))
    before = snapshot()
    assert client.get(AGENTS).status_code == 200
    assert client.get(f"{AGENTS}/researcher").status_code == 200
    writes = {
        "create": client.post(AGENTS, agent_body(slug="another")),
        "put": client.put(f"{AGENTS}/researcher", agent_body(name="Changed")),
        "delete": client.delete(f"{AGENTS}/researcher"),
    }
    for route, response in writes.items():
        assert response.status_code == 403, route
        assert response.json() == {"detail": "Only the account's admins may change its agents."}, route
    assert snapshot() == before


def test_admin_of_one_account_is_not_admin_of_another(api_client_for, make_user, account, other_account):
    user = make_user(account, role=Membership.Role.MEMBER)
    Membership.objects.create(user=user, account=other_account, role=Membership.Role.ADMIN)
    client = api_client_for(user)
    assert client.delete(f"{AGENTS}/assistant").status_code == 403
    assert client.delete("/api/accounts/globex/agents/assistant").status_code == 204


# --- Schema and docs ----------------------------------------------------------------------


def test_openapi_schema_lists_every_path(client):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["info"]["title"] == "Agent Operations API"
    paths = schema["paths"]
    assert set(paths) == {
        "/api/agentic-workflows",
        "/api/accounts/{account}/agents",
        "/api/accounts/{account}/agents/{agent}",
        "/api/accounts/{account}/agents/{agent}/chat",
        "/api/chat/multi-agent/message",
        "/api/chat/message",
        "/api/approvals/{approval_id}",
        "/api/accounts/{account}/flags",
        "/api/accounts/{account}/flags/{key}",
        "/api/accounts/{account}/flags/{key}/rollback",
        "/api/accounts/{account}/flags/{key}/users/{username}",
        "/api/accounts/{account}/runs",
        "/api/accounts/{account}/runs/statistics",
        "/api/accounts/{account}/runs/{run_id}",
        "/api/accounts/{account}/runs/{run_id}/cancel",
        "/api/accounts/{account}/escalations",
        "/api/accounts/{account}/escalation-queue",
        "/api/accounts/{account}/escalations/{escalation_id}",
        "/api/accounts/{account}/escalations/{escalation_id}/claim",
        "/api/accounts/{account}/escalations/{escalation_id}/assign",
        "/api/accounts/{account}/escalations/{escalation_id}/reply",
        "/api/accounts/{account}/escalations/{escalation_id}/resolve",
        "/api/accounts/{account}/escalations/{escalation_id}/promote",
        "/api/accounts/{account}/analytics/overview",
        "/api/accounts/{account}/analytics/handoffs",
        "/api/accounts/{account}/analytics/routing",
        "/api/accounts/{account}/analytics/agents",
        "/api/accounts/{account}/analytics/cohorts",
        "/api/accounts/{account}/analytics/escalations",
        "/api/accounts/{account}/analytics/alerts",
        "/api/accounts/{account}/analytics/alerts/{alert_id}/acknowledge",
        "/api/accounts/{account}/analytics/alert-rules/{rule_id}/silence",
        "/api/accounts/{account}/collections",
        "/api/accounts/{account}/collections/{collection_id}/documents",
        "/api/accounts/{account}/collections/{collection_id}/upload",
        "/api/accounts/{account}/documents/{document_id}",
        "/api/accounts/{account}/documents/{document_id}/reindex",
        "/api/accounts/{account}/knowledge/search",
        "/api/accounts/{account}/mcp-servers",
        "/api/accounts/{account}/mcp-servers/{server_id}",
        "/api/accounts/{account}/mcp-servers/{server_id}/discover",
        "/api/accounts/{account}/mcp-servers/{server_id}/tools/{tool_id}",
        "/api/accounts/{account}/readiness",
        "/api/accounts/{account}/evaluation/datasets",
        "/api/accounts/{account}/evaluation/datasets/{dataset_id}",
        "/api/accounts/{account}/evaluation/datasets/{dataset_id}/export",
        "/api/accounts/{account}/evaluation/runs",
        "/api/accounts/{account}/evaluation/runs/{evaluation_run_id}",
        "/api/accounts/{account}/evaluation/runs/{evaluation_run_id}/compare/{other_run_id}",
    }
    assert set(paths["/api/accounts/{account}/agents"]) == {"get", "post"}
    assert set(paths["/api/accounts/{account}/agents/{agent}"]) == {"get", "put", "delete"}
    assert set(paths["/api/accounts/{account}/flags/{key}"]) == {"get", "patch"}
    assert schema["components"]["securitySchemes"]["TokenAuth"] == {"type": "http", "scheme": "bearer"}


def test_docs_work_without_a_cdn(client):
    response = client.get("/api/docs")
    assert response.status_code == 200
    page = response.content.decode()
    assert "cdn" not in page.lower()
    assert "http://" not in page and "https://" not in page
    assert "/api/openapi.json" in page
    for asset in ("swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-init.js"):
        assert f"/static/ninja/{asset}" in page  # from the wheel, served by the app
        response = client.get(f"/static/ninja/{asset}")
        assert response.status_code == 200, asset
        assert b"".join(response.streaming_content)


def test_renamed_agent_cannot_hand_off_to_its_old_slug(admin_api, researcher):
    response = admin_api.put(
        f"{AGENTS}/researcher", agent_body(slug="finder", handoff_targets=["researcher"])
    )
    assert_invalid(response, {"handoff_targets": ["An agent cannot hand off to itself."]})


def test_handoff_between_new_agents(admin_api, researcher):
    response = admin_api.post(AGENTS, agent_body(slug="second", handoff_targets=["researcher", "assistant"]))
    assert response.status_code == 201, response.json()
    assert response.json()["handoff_targets"] == ["assistant", "researcher"]
    # One-way: the researcher's own targets are unchanged.
    assert admin_api.get(f"{AGENTS}/researcher").json()["handoff_targets"] == ["assistant"]


def test_omitted_config_is_the_template_default(admin_api, search_template, tools):
    body = agent_body()
    del body["config"]
    response = admin_api.post(AGENTS, body)
    assert response.status_code == 201, response.json()
    assert response.json()["config"] == {"max_results": 10}
