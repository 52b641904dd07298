import pytest

from accounts.models import Membership
from tests.api.conftest import ApiClient

pytestmark = pytest.mark.django_db


@pytest.fixture
def api_for():
    from accounts.auth import api_token_create

    def make(user) -> ApiClient:
        return ApiClient(api_token_create(user=user, name="tests")[1])

    return make


@pytest.fixture
def operator_api(api_for, operator):
    return api_for(operator)


def test_figures_as_json_over_a_custom_window(dataset, operator_api):
    response = operator_api.get(
        "/api/accounts/acme/analytics/handoffs?window=custom&start=2026-06-08&end=2026-06-14"
    )
    assert response.status_code == 200
    body = response.json()
    assert body["window"] == {
        "start": "2026-06-08T00:00:00Z",
        "end": "2026-06-15T00:00:00Z",
        "preset": "custom",
    }
    figures = body["figures"]
    # The hand-built window's figures, but C7 (June 8, 12:00) counts here: the window starts at midnight.
    assert (figures["conversations"], figures["with_handoff"], figures["rate"]) == (4, 2, 0.5)
    assert {(p["source"]["slug"], p["target"]["slug"], p["count"]) for p in figures["paths"]} == {
        ("alpha", "beta", 1),
        ("beta", "gamma", 1),
    }


@pytest.mark.parametrize("section", ["overview", "handoffs", "routing", "agents", "cohorts", "alerts"])
def test_every_section_answers(operator_api, section):
    assert operator_api.get(f"/api/accounts/acme/analytics/{section}").status_code == 200


def test_cohorts_carry_counts_and_intervals(dataset, operator_api):
    body = operator_api.get(
        "/api/accounts/acme/analytics/cohorts?window=custom&start=2026-06-08&end=2026-06-14"
    )
    errors = next(c for c in body.json()["figures"]["comparisons"] if c["metric"] == "error_rate")
    assert (errors["legacy_n"], errors["multi_agent_n"]) == (2, 4)
    assert errors["difference"]["low"] < errors["difference"]["estimate"] < errors["difference"]["high"]


def test_another_account_is_404_and_members_are_403(api_for, operator_api, make_user, account, outsider):
    assert operator_api.get("/api/accounts/globex/analytics/overview").status_code == 404
    assert operator_api.get("/api/accounts/nowhere/analytics/overview").status_code == 404
    assert api_for(outsider).get("/api/accounts/acme/analytics/handoffs").json() == {"detail": "Not found."}
    member = make_user(account, role=Membership.Role.MEMBER)
    refused = api_for(member).get("/api/accounts/acme/analytics/overview")
    assert refused.status_code == 403
    assert "operators and admins" in refused.json()["detail"]
    assert ApiClient().get("/api/accounts/acme/analytics/overview").status_code == 401


def test_a_bad_window_is_a_400_naming_the_field(operator_api):
    response = operator_api.get("/api/accounts/acme/analytics/routing?window=custom&start=2026-06-01")
    assert response.status_code == 400
    assert response.json()["errors"] == {"end": ["Give an end date (YYYY-MM-DD) for a custom window."]}


def test_documented_in_the_openapi_schema(operator_api):
    paths = operator_api.get("/api/openapi.json").json()["paths"]
    for section in ["overview", "handoffs", "routing", "agents", "cohorts", "alerts"]:
        assert f"/api/accounts/{{account}}/analytics/{section}" in paths
    params = {p["name"] for p in paths["/api/accounts/{account}/analytics/cohorts"]["get"]["parameters"]}
    assert {"account", "window", "start", "end"} <= params
