"""Least privilege inside one account: a member reaches only their own runs and approvals,
agent internals are for admins, and "no such user" reads the same whoever the user is."""

from __future__ import annotations

import json

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from config.asgi import application
from conversations.models import Approval
from orchestration.models import WorkflowRun
from tests.security.conftest import api_headers, run_of, web_client

ORIGIN = (b"origin", b"http://testserver")


def _api(user, method: str, path: str, body: dict | None = None):
    data = json.dumps(body) if body is not None else ""
    return web_client(None).generic(method, path, data, "application/json", **api_headers(user))


@pytest.fixture
def a(tenants):
    return tenants[0]


@pytest.fixture
def runs(a):
    """member's own run, the delegate run of member's conversation, and an escalation's
    consultation run on member's conversation (started by the system)."""
    delegate = run_of(a.account, None, "delegated", mode="delegate", conversation=a.conversation)
    consultation = run_of(a.account, None, "consulted", mode="consensus", conversation=a.conversation)
    return {"own": a.run, "delegate": delegate, "consultation": consultation}


# --- Runs -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "visible"),
    [
        ("member", {"own", "delegate"}),
        ("member2", set()),
        ("operator", {"own", "delegate", "consultation"}),
        ("admin", {"own", "delegate", "consultation"}),
    ],
)
def test_who_sees_which_run(a, runs, role, visible):
    user = a.users[role]
    base = f"/api/accounts/{a.account.slug}/runs"
    listed = {r["id"] for r in _api(user, "GET", base).json()}
    assert listed == {runs[name].pk for name in visible}
    assert _api(user, "GET", f"{base}/statistics").json()["runs"] == len(visible)
    page = web_client(user).get("/runs/").content.decode()
    for name, run in runs.items():
        expected = 200 if name in visible else 404
        assert _api(user, "GET", f"{base}/{run.pk}").status_code == expected, name
        assert web_client(user).get(f"/runs/{run.pk}/").status_code == expected, name
        assert (f'id="run-row-{run.pk}"' in page) == (name in visible), name


def test_another_members_run_cannot_be_cancelled(a, runs):
    run = runs["own"]
    intruder = a.users["member2"]
    missing = _api(intruder, "POST", f"/api/accounts/{a.account.slug}/runs/999999/cancel")
    refused = _api(intruder, "POST", f"/api/accounts/{a.account.slug}/runs/{run.pk}/cancel")
    assert refused.status_code == missing.status_code == 404
    assert refused.json() == missing.json()
    assert web_client(intruder).post(f"/runs/{run.pk}/cancel/").status_code == 404
    run.refresh_from_db()
    assert run.status == WorkflowRun.Status.PENDING
    # The operator may.
    done = _api(a.users["operator"], "POST", f"/api/accounts/{a.account.slug}/runs/{run.pk}/cancel")
    assert done.status_code == 200 and done.json()["status"] == "cancelled"


@pytest.mark.django_db(transaction=True)
async def test_another_members_run_socket_is_refused(a, runs):
    from tests.security.test_cross_account_sockets import _cookie

    async def connects(role: str, run: WorkflowRun) -> bool:
        headers = await database_sync_to_async(_cookie)(a.users[role])
        communicator = WebsocketCommunicator(application, f"/ws/runs/{run.pk}/", headers=headers)
        connected, _ = await communicator.connect()
        if connected:
            await communicator.disconnect()
        return connected

    assert not await connects("member2", runs["own"])
    assert not await connects("member", runs["consultation"])
    assert await connects("member", runs["own"])
    assert await connects("operator", runs["own"])


# --- Approvals (owner only: relies on conversations.selectors.approval_for_user) ---------


@pytest.mark.parametrize("role", ["member2", "operator", "admin"])
def test_only_the_owner_decides_an_approval(a, role):
    approval = a.approval
    response = _api(a.users[role], "POST", f"/api/approvals/{a.approval_id}", {"decision": "approve"})
    missing = _api(
        a.users[role], "POST", "/api/approvals/00000000-0000-4000-8000-000000000000", {"decision": "approve"}
    )
    assert response.status_code == missing.status_code == 404
    assert response.json() == missing.json()
    approval.refresh_from_db()
    assert approval.decision == Approval.Decision.PENDING
    page = web_client(a.users[role]).post(
        f"/chat/{a.conversation.pk}/approvals/{a.approval_id}/", {"decision": "approve"}
    )
    assert page.status_code == 404


# --- Agent internals ------------------------------------------------------------------------

INTERNALS = ("model", "system_prompt", "config", "tools", "handoff_targets", "routing_examples")


@pytest.mark.parametrize(("role", "shown"), [("member", False), ("operator", False), ("admin", True)])
def test_agent_internals_are_for_admins(a, role, shown):
    base = f"/api/accounts/{a.account.slug}/agents"
    listed = next(x for x in _api(a.users[role], "GET", base).json() if x["slug"] == a.agent.slug)
    one = _api(a.users[role], "GET", f"{base}/{a.agent.slug}").json()
    for body in (listed, one):
        assert body["name"] == a.agent.name
        if shown:
            assert body["system_prompt"] == a.agent.system_prompt and body["config"] == a.agent.config
        else:
            assert all(body[name] is None for name in INTERNALS), body


def test_the_schema_says_agent_internals_are_for_admins(a):
    schema = _api(a.users["member"], "GET", "/api/openapi.json").json()
    prompt = schema["components"]["schemas"]["AgentOut"]["properties"]["system_prompt"]
    assert "admin" in prompt["description"]


# --- No such user --------------------------------------------------------------------------


def test_assigning_to_anyone_but_an_operator_reads_like_nobody(tenants):
    a, b = tenants
    path = f"/api/accounts/{a.account.slug}/escalations/{a.escalation.pk}/assign"
    answers = set()
    for name in (b.users["operator"].get_username(), a.users["member2"].get_username(), "nobody-at-all"):
        response = _api(a.users["admin"], "POST", path, {"assignee": name})
        answers.add((response.status_code, response.content.decode().replace(name, "<name>")))
    assert len(answers) == 1 and next(iter(answers))[0] == 400
    # The page takes the user's id: the same for an id of another account's user, a member, nobody.
    page_answers = set()
    for user_id in (b.users["operator"].pk, a.users["member2"].pk, 999999):
        response = web_client(a.users["admin"]).post(
            f"/escalations/{a.escalation.pk}/assign/", {"assignee": user_id}
        )
        page_answers.add((response.status_code, response.content.decode().replace(str(user_id), "<id>")))
    assert len(page_answers) == 1 and next(iter(page_answers))[0] == 400
    a.escalation.refresh_from_db()
    assert a.escalation.assignee is None


def test_a_rollout_override_for_anyone_but_a_member_reads_like_nobody(tenants):
    a, b = tenants
    answers = set()
    for name in (b.users["member"].get_username(), "nobody-at-all"):
        path = f"/api/accounts/{a.account.slug}/flags/multi_agent/users/{name}"
        for method, body in (("GET", None), ("PUT", {"enabled": True, "reason": "test"})):
            response = _api(a.users["admin"], method, path, body)
            answers.add((method, response.status_code, response.content.decode().replace(name, "<name>")))
    assert {(m, s) for m, s, _ in answers} == {("GET", 404), ("PUT", 404)}
    assert len(answers) == 2
