"""Every route of the app, as each of account A's users, against account B's objects.

The routes are enumerated, not listed: a page, a form or an API operation added tomorrow is
tried here too (and fails here if its path parameter is one the suite cannot fill; see
``tests/security/routes.py``). What passes:

- a route that names one of B's objects: 404 (or 403 where a role gate comes before the lookup,
  405 for a method the route does not take); anonymous users get 302 to the login page (pages)
  or 401 (API);
- a route that names none of B's objects (the user's own list pages, global names): any answer
  below 500;

and in every case no text of B's in the body, and B unchanged at the end.
"""

from __future__ import annotations

import json

import pytest
from django.conf import settings
from django.shortcuts import resolve_url

from tests.security.conftest import LEAK, api_headers, b_snapshot, web_client
from tests.security.routes import (
    BODY_OBJECTS,
    Route,
    UnknownParameter,
    admin_paths,
    api_paths_in_urlconf,
    api_routes,
    django_routes,
    example,
    fill,
    form_body,
    has_object_parameter,
)

ROLES = ("anonymous", "member", "operator", "admin")
REFUSED = {403, 404, 405}


def _user(tenant, role: str):
    return None if role == "anonymous" else tenant.users[role]


def _body(response) -> str:
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return content.decode(errors="replace")


def _to_login(response, login_url: str) -> bool:
    return response.status_code == 302 and response["Location"].split("?")[0] == login_url


def test_every_route_parameter_is_known_to_the_suite(tenants):
    _, b = tenants
    unknown = []
    for route in django_routes() + api_routes():
        try:
            fill(route, b)
        except UnknownParameter as error:
            unknown.append(str(error))
    assert not unknown, "\n".join(unknown)


def test_every_api_route_is_in_the_openapi_schema():
    """The API sweep reads the schema; a route left out of it would escape the sweep."""
    documented = {route.route for route in api_routes()}
    served = api_paths_in_urlconf() - {"/api/openapi.json", "/api/docs", "/api/"}
    assert served <= documented, f"API routes missing from the OpenAPI schema: {sorted(served - documented)}"


def _check(problems: list[str], role: str, method: str, path: str, response, *, names_b: bool, api: bool):
    body = _body(response)
    where = f"{role:9} {method:6} {path} -> {response.status_code}"
    if LEAK in body:
        problems.append(f"{where}: the body shows account B's data")
    if response.status_code >= 500 and response.status_code != 503:  # 503: /healthz naming what is down
        problems.append(f"{where}: server error")
        return
    if not names_b:
        return
    if role == "anonymous":
        login = resolve_url(settings.LOGIN_URL)
        ok = (
            response.status_code in {401, 404, 405}
            if api
            else _to_login(response, login) or (response.status_code in REFUSED)
        )
    else:
        ok = response.status_code in REFUSED
    if not ok:
        hint = ""
        if response.status_code == 400:
            hint = (
                " (400: the input was checked before the object was looked up, or the suite's body "
                "is invalid: see example()/BODY_OBJECTS in tests/security/routes.py)"
            )
        problems.append(f"{where}: expected a refusal{hint}: {body[:200]}")


def test_no_page_lets_account_a_reach_account_b(tenants):
    a, b = tenants
    before = b_snapshot(b)
    problems: list[str] = []
    for route in django_routes():
        path = fill(route, b)
        names_b = has_object_parameter(route)
        for role in ROLES:
            for method in route.methods:
                client = web_client(_user(a, role))  # fresh each time: a POST may log out or switch
                response = client.get(path) if method == "GET" else client.post(path, form_body(b))
                _check(problems, role, method, path, response, names_b=names_b, api=False)
    assert not problems, "\n".join(problems)
    assert b_snapshot(b) == before, "a request from account A changed account B"


def _api_body(route: Route, b) -> object:
    body = example(route.body_schema, b)
    if isinstance(body, dict) and route.body_schema:
        # Fields that name objects go in even when optional: a body must not smuggle B's in.
        for name in route.body_schema.get("properties", {}):
            if name in BODY_OBJECTS:
                body[name] = BODY_OBJECTS[name](b)
    return body


def test_no_api_operation_lets_account_a_reach_account_b(tenants):
    a, b = tenants
    before = b_snapshot(b)
    problems: list[str] = []
    for route in api_routes():
        path = fill(route, b)
        (method,) = route.methods
        body = _api_body(route, b) if method != "GET" else None
        names_b = has_object_parameter(route) or (
            isinstance(body, dict) and any(name in BODY_OBJECTS for name in body)
        )
        if method != "GET" and not names_b:
            continue  # a write naming nothing of B's acts on the caller's own account
        for role in ROLES:
            headers = api_headers(_user(a, role))
            data = json.dumps(body) if body is not None else ""
            response = web_client(None).generic(method, path, data, "application/json", **headers)
            _check(problems, role, method, path, response, names_b=names_b, api=True)
    assert not problems, "\n".join(problems)
    assert b_snapshot(b) == before, "a request from account A changed account B"


def test_the_admin_is_for_staff_only(tenants):
    a, _ = tenants
    login = "/admin/login/"
    public = {"/admin/login/", "/admin/logout/"}
    problems = []
    for path in admin_paths():
        if path in public:
            continue
        for role in ROLES:
            response = web_client(_user(a, role)).get(path)
            if not _to_login(response, login) and response.status_code not in {404}:
                problems.append(f"{role} GET {path} -> {response.status_code}")
    assert not problems, "\n".join(problems)
    assert len(admin_paths()) > 20  # the walk found the model admins, not just the index


@pytest.mark.parametrize("role", ["member", "operator", "admin"])
def test_switching_to_account_b_is_refused(tenants, role):
    a, b = tenants
    client = web_client(a.users[role])
    client.post("/accounts/switch/", {"account": b.account.pk})
    assert LEAK not in _body(client.get("/chat/"))
    assert LEAK not in _body(client.get("/runs/"))
