"""What the security suite knows about the app's routes: how to enumerate them, and how to
fill each path parameter with account B's objects.

A new route is covered without anyone touching the suite, as long as its parameters are named
here. A route with a parameter the suite does not know fails the suite, naming the parameter:
add it to ``OBJECT_PARAMETERS`` (one of B's objects, so A's users must be refused) or to
``GLOBAL_PARAMETERS`` (not owned by an account, such as a section name: A's users may get a page,
but never with B's data in it).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver

from tests.security.conftest import Tenant

ADD_IT = (
    "The security suite does not know the path parameter {name!r} of {route!r}. Add it to "
    "OBJECT_PARAMETERS in tests/security/routes.py (with the account-B object it names) or, if it "
    "does not name anything an account owns, to GLOBAL_PARAMETERS."
)

# Parameter name -> account B's value. Views must refuse A's users these.
OBJECT_PARAMETERS: dict[str, Callable[[Tenant], object]] = {
    "account": lambda b: b.account.slug,
    "agent": lambda b: b.agent.slug,
    "conversation_id": lambda b: b.conversation.pk,
    "message_id": lambda b: b.reply.pk,
    "approval_id": lambda b: b.approval_id,
    "call_id": lambda b: b.approval.tool_call_id,
    "run_id": lambda b: b.run.pk,
    "escalation_id": lambda b: b.escalation.pk,
    "username": lambda b: b.users["member"].get_username(),
    "alert_id": lambda b: b.alert.pk,
    "rule_id": lambda b: b.alert_rule.pk,
    "server_id": lambda b: b.mcp_server.pk,
    "tool_id": lambda b: b.mcp_tool.pk,
    "collection_id": lambda b: b.knowledge_collection.pk,
    "document_id": lambda b: b.knowledge_document.pk,
    "dataset_id": lambda b: b.evaluation_dataset.pk,
    "case_id": lambda b: b.evaluation_case.pk,
    "evaluation_run_id": lambda b: b.evaluation_run.pk,
    "other_run_id": lambda b: b.evaluation_run.pk,
    "result_id": lambda b: b.evaluation_result.pk,
}

# ``pk`` means a different model under each prefix (the longest matching prefix wins).
PK_BY_PREFIX: dict[str, Callable[[Tenant], object]] = {
    "chat/": lambda b: b.conversation.pk,
    "runs/": lambda b: b.run.pk,
    "escalations/": lambda b: b.escalation.pk,
    "escalations/patterns/": lambda b: b.pattern.pk,
    "analytics/alerts/rules/": lambda b: b.alert_rule.pk,
    "analytics/alerts/": lambda b: b.alert.pk,
    "knowledge/articles/": lambda b: b.article.pk,
    "knowledge/documents/": lambda b: b.knowledge_document.pk,
    "analytics/conversations/": lambda b: b.conversation.pk,
    "analytics/suggestions/": lambda b: b.suggestion.pk,
    "readiness/": lambda b: b.readiness_report.pk,
    "analytics/evaluations/datasets/": lambda b: b.evaluation_dataset.pk,
    "analytics/evaluations/runs/": lambda b: b.evaluation_run.pk,
}


def _first_section() -> str:
    from analytics.sections import SECTIONS

    return next(iter(SECTIONS))


def _first_table() -> str:
    from analytics.sections import SECTIONS

    return next(iter(next(iter(SECTIONS.values())).tables))


# Parameters that name nothing an account owns: flags are global (each account sees its own
# settings of them), analytics sections and tables are names in code.
GLOBAL_PARAMETERS: dict[str, Callable[[], object]] = {
    "key": lambda: "multi_agent",
    "section": _first_section,
    "table": _first_table,
    "file_format": lambda: "jsonl",  # an evaluation dataset's export format
}

_PARAM = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>|\{(?P<api_name>[^}]+)\}")


@dataclass(frozen=True)
class Route:
    route: str  # as declared, e.g. "runs/<int:pk>/" or "/api/accounts/{account}/runs/{run_id}"
    methods: tuple[str, ...]
    body_schema: dict | None = None  # API only: the JSON body's schema

    @property
    def parameters(self) -> list[str]:
        return [m.group("name") or m.group("api_name") for m in _PARAM.finditer(self.route)]


class UnknownParameter(Exception):
    pass


def has_object_parameter(route: Route) -> bool:
    return any(name not in GLOBAL_PARAMETERS for name in route.parameters)


def fill(route: Route, b: Tenant) -> str:
    """The route's path with every parameter filled (B's objects, or the global value)."""

    def value(match: re.Match) -> str:
        name = match.group("name") or match.group("api_name")
        if name in GLOBAL_PARAMETERS:
            return str(GLOBAL_PARAMETERS[name]())
        if name == "pk":
            prefixes = [p for p in PK_BY_PREFIX if route.route.lstrip("/").startswith(p)]
            if not prefixes:
                message = ADD_IT.format(name=name, route=route.route)
                raise UnknownParameter(f"{message} (for 'pk': to PK_BY_PREFIX, by URL prefix)")
            return str(PK_BY_PREFIX[max(prefixes, key=len)](b))
        if name not in OBJECT_PARAMETERS:
            raise UnknownParameter(ADD_IT.format(name=name, route=route.route))
        return str(OBJECT_PARAMETERS[name](b))

    path = _PARAM.sub(value, route.route)
    return path if path.startswith("/") else "/" + path


# --- Enumeration ----------------------------------------------------------------------------


def _walk(resolver: URLResolver, prefix: str = "") -> Iterator[tuple[str, URLPattern | URLResolver]]:
    for pattern in resolver.url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            if route.startswith(("admin/", "api/")):
                yield route, pattern  # checked on their own: staff-only, and the OpenAPI schema
                continue
            yield from _walk(pattern, route)
        else:
            yield route, pattern


def django_routes() -> list[Route]:
    """Every page and form route (admin and the API apart), tried with GET and POST."""
    return [
        Route(route=route, methods=("GET", "POST"))
        for route, pattern in _walk(get_resolver())
        if isinstance(pattern, URLPattern)
    ]


def mounted(prefix: str) -> URLResolver:
    return next(p for route, p in _walk(get_resolver()) if route == prefix)


def admin_paths() -> list[str]:
    """Every admin route, with its parameters filled by any value (staff-only comes first)."""
    paths = []

    def walk(resolver: URLResolver, prefix: str) -> None:
        for pattern in resolver.url_patterns:
            route = prefix + str(pattern.pattern).lstrip("^").rstrip("$")
            if isinstance(pattern, URLResolver):
                walk(pattern, route)
            else:
                paths.append(route)

    walk(mounted("admin/"), "admin/")
    filled = []
    for route in paths:
        route = re.sub(r"\(\?P<[^>]+>([^|)]+)[^)]*\)", r"\1", route)  # a regex group: its first choice
        route = re.sub(r"<(?:[^>:]+:)?[^>]+>", "1", route)
        filled.append("/" + route.replace("\\", ""))
    return filled


def api_routes() -> list[Route]:
    """Every operation of the JSON API, from its OpenAPI schema (the source of its docs)."""
    from config.api import api

    schema = api.get_openapi_schema()
    components = schema.get("components", {}).get("schemas", {})
    routes = []
    for path, operations in schema["paths"].items():
        methods = tuple(m.upper() for m in operations if m in ("get", "post", "put", "patch", "delete"))
        for method in methods:
            body = operations[method.lower()].get("requestBody")
            # A multipart upload's form is not JSON: the sweep sends it no body (the view still
            # answers B's objects with 404 before it reads the form).
            json_body = (body or {}).get("content", {}).get("application/json")
            body_schema = json_body["schema"] if json_body else None
            routes.append(Route(route=path, methods=(method,), body_schema=_deref(body_schema, components)))
    return routes


def api_paths_in_urlconf() -> set[str]:
    """The API's routes as Django resolves them, in the OpenAPI spelling."""
    paths = set()
    for pattern in mounted("api/").url_patterns:
        route = "/api/" + str(pattern.pattern)
        paths.add(re.sub(r"<(?:[^>:]+:)?([^>]+)>", r"{\1}", route))
    return paths


def _deref(schema, components: dict):
    if isinstance(schema, dict):
        if "$ref" in schema:
            return _deref(components[schema["$ref"].rsplit("/", 1)[1]], components)
        return {k: _deref(v, components) for k, v in schema.items()}
    if isinstance(schema, list):
        return [_deref(v, components) for v in schema]
    return schema


# --- Plausible bodies -----------------------------------------------------------------------

# Body fields that name objects: B's, so that a body cannot smuggle them in either.
BODY_OBJECTS: dict[str, Callable[[Tenant], object]] = {
    "conversation_id": lambda b: b.conversation.pk,
    "assignee": lambda b: b.users["operator"].get_username(),
    "agent": lambda b: b.agent.slug,
}
BODY_TEXT = "a plausible value"


def example(schema: dict | None, b: Tenant, name: str = "") -> object:
    """A value that passes ``schema``: required fields only, B's objects where a field names one."""
    if schema is None:
        return None
    if name in BODY_OBJECTS:
        return BODY_OBJECTS[name](b)
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            options = [s for s in schema[key] if s.get("type") != "null"] or schema[key]
            return example(options[0], b, name)
    if "enum" in schema:
        return schema["enum"][0]
    if "default" in schema and schema.get("type") != "object":
        return schema["default"]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        required = schema.get("required", [])
        return {k: example(v, b, k) for k, v in schema.get("properties", {}).items() if k in required}
    if kind == "array":
        return [example(schema.get("items", {}), b, name) for _ in range(schema.get("minItems", 0))]
    if kind == "integer":
        return max(1, schema.get("minimum", 1))
    if kind == "number":
        return schema.get("minimum", 0.5)
    if kind == "boolean":
        return True
    choices = re.fullmatch(r"\^\(([^()]*)\)\$", schema.get("pattern", ""))  # "^(approve|deny)$"
    return choices.group(1).split("|")[0] if choices else BODY_TEXT


def form_body(b: Tenant) -> dict[str, object]:
    """One form body for every page POST: each field a form might read, naming B's objects."""
    return {
        "content": BODY_TEXT,
        "reason": BODY_TEXT,
        "note": BODY_TEXT,
        "message": BODY_TEXT,
        "decision": "approve",
        "rating": "down",
        "feedback": "down",
        "assignee": b.users["operator"].pk,
        "username": b.users["member"].get_username(),
        "conversation": b.conversation.pk,
        "conversation_id": b.conversation.pk,
        "account": b.account.pk,
        "agent": b.agent.slug,
        "enabled": "on",
        "phase": "off",
        "percentage": "0",
        "priority": "2",
        "threshold": "0.5",
        "mode": "parallel",
        "task-0-target": b.agent.slug,
        "task-0-input": BODY_TEXT,
    }
