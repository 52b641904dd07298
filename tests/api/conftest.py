from __future__ import annotations

import pytest
from django.test import Client

from accounts.auth import api_token_create
from accounts.models import Membership
from agents.models import AgentTemplate, Tool

SEARCH_SCHEMA = {
    "type": "object",
    "properties": {"max_results": {"type": "integer", "maximum": 50}},
    "additionalProperties": False,
}


class ApiClient:
    """A test client that sends JSON and a bearer token."""

    def __init__(self, token: str | None = None) -> None:
        self.client = Client()
        self.token = token

    def _headers(self) -> dict[str, str]:
        return {"HTTP_AUTHORIZATION": f"Bearer {self.token}"} if self.token else {}

    def get(self, path: str):
        return self.client.get(path, **self._headers())

    def post(self, path: str, data=None, *, raw: str | None = None):
        body = raw if raw is not None else data
        return self.client.post(path, body, content_type="application/json", **self._headers())

    def put(self, path: str, data=None, *, raw: str | None = None):
        body = raw if raw is not None else data
        return self.client.put(path, body, content_type="application/json", **self._headers())

    def delete(self, path: str):
        return self.client.delete(path, **self._headers())


@pytest.fixture
def api_client_for():
    def make(user) -> ApiClient:
        _, raw = api_token_create(user=user, name="tests")
        return ApiClient(raw)

    return make


@pytest.fixture
def admin_user(make_user, account):
    return make_user(account, role=Membership.Role.ADMIN, username="ada")


@pytest.fixture
def admin_api(api_client_for, admin_user) -> ApiClient:
    return api_client_for(admin_user)


@pytest.fixture
def member_api(api_client_for, member) -> ApiClient:
    return api_client_for(member)


@pytest.fixture
def outsider_api(api_client_for, make_user, other_account) -> ApiClient:
    """An admin of another account."""
    return api_client_for(make_user(other_account, role=Membership.Role.ADMIN, username="mallory-admin"))


@pytest.fixture
def search_template(db) -> AgentTemplate:
    return AgentTemplate.objects.create(
        slug="researcher",
        name="Researcher",
        workflow_kind=AgentTemplate.WorkflowKind.RESEARCH,
        version="1",
        config_schema=SEARCH_SCHEMA,
        default_config={"max_results": 10},
    )


@pytest.fixture
def tools(db) -> list[Tool]:
    return [
        Tool.objects.create(slug="search-kb", name="Search", description="Searches.", handler="search"),
        Tool.objects.create(slug="open-ticket", name="Ticket", description="Opens.", handler="ticket"),
    ]
