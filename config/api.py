"""The HTTP API, mounted at /api/: schema at /api/openapi.json, docs at /api/docs.

Every route needs ``Authorization: Bearer <token>`` (see ``accounts.auth``). Errors share
one shape: ``{"detail": "..."}``, plus ``"errors": {field: [messages]}`` for invalid input.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI, Swagger
from ninja.errors import AuthenticationError
from ninja.errors import ValidationError as NinjaValidationError

from accounts.auth import TokenAuth
from accounts.ratelimit import RateLimited
from agents.api import router as agents_router
from agents.mcp.api import router as mcp_router
from analytics.api import router as analytics_router
from analytics.evaluation.api import router as evaluation_router
from analytics.release.api import router as readiness_router
from conversations.api import router as chat_router
from escalations.api import router as escalations_router
from orchestration.api import router as orchestration_router
from rollout.api import router as rollout_router

INVALID_INPUT = "Invalid input"

ERROR_SCHEMA = {
    "title": "Error",
    "type": "object",
    "properties": {
        "detail": {"type": "string"},
        "errors": {
            "type": "object",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
            "description": "Messages per field, for invalid input.",
        },
    },
    "required": ["detail"],
}
# Answers any operation can give, whatever its view does: the auth, the body middleware
# (config.middleware), input validation and the rate limits come before the view.
COMMON_ERRORS = {
    "400": "Invalid input: `errors` names each field and what is wrong with it.",
    "401": "No token, or a token that is not valid.",
    "413": "The request body is larger than the server accepts.",
    "429": "Too many requests; `Retry-After` says when to try again.",
}
NOT_FOUND = "Not found, or not yours (another account's objects are a 404 too)."


class Api(NinjaAPI):
    def get_openapi_schema(self, *, path_prefix: str | None = None, path_params: dict | None = None):
        """The generated schema, with the errors every operation may answer documented on each:
        clients (and schemathesis) then know every status code they can get."""
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        schema.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
        error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        for path, operations in schema["paths"].items():
            for operation in operations.values():
                responses = operation.setdefault("responses", {})
                documented = dict(COMMON_ERRORS)
                # An object named in the path or the body may not exist, or not be yours.
                if "{" in path or "requestBody" in operation:
                    documented["404"] = NOT_FOUND
                for status, description in documented.items():
                    responses.setdefault(status, {"description": description, "content": error})
        return schema


api = Api(
    title="Agent Operations API",
    version="1",
    auth=TokenAuth(),
    urls_namespace="api",
    # With "ninja" in INSTALLED_APPS the docs page loads Swagger UI from the wheel's
    # static files (served by WhiteNoise), never from a CDN.
    docs=Swagger(),
)


# --- Errors ----------------------------------------------------------------------------


def _field_name(loc: tuple | list) -> str:
    """('body', 'payload', 'config', 'max_results') -> 'config.max_results'; ('path', 'agent') -> 'agent'."""
    source, *rest = [str(part) for part in loc] or ["body"]
    if source == "body":
        rest = rest[1:]  # the name of the view's body parameter
    return ".".join(rest) or source


def _invalid_input(request: HttpRequest, errors: dict[str, list[str]]) -> HttpResponse:
    return api.create_response(request, {"detail": INVALID_INPUT, "errors": errors}, status=400)


@api.exception_handler(NinjaValidationError)
def on_invalid_request(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    errors: dict[str, list[str]] = {}
    for error in exc.errors:
        errors.setdefault(_field_name(error.get("loc", ())), []).append(error.get("msg", "Invalid value."))
    return _invalid_input(request, errors)


@api.exception_handler(DjangoValidationError)
def on_invalid_data(request: HttpRequest, exc: DjangoValidationError) -> HttpResponse:
    errors = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
    return _invalid_input(request, errors)


@api.exception_handler(Http404)
def on_not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return api.create_response(request, {"detail": "Not found."}, status=404)


@api.exception_handler(AuthenticationError)
def on_unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    response = api.create_response(request, {"detail": "Unauthorized"}, status=401)
    response["WWW-Authenticate"] = "Bearer"
    return response


@api.exception_handler(RateLimited)
def on_rate_limited(request: HttpRequest, exc: RateLimited) -> HttpResponse:
    response = api.create_response(request, {"detail": exc.message}, status=429)
    response["Retry-After"] = str(exc.retry_after)
    return response


api.add_router("", agents_router)
api.add_router("", mcp_router)
api.add_router("", chat_router)
api.add_router("", rollout_router)
api.add_router("", orchestration_router)
api.add_router("", escalations_router)
api.add_router("", analytics_router)
api.add_router("", readiness_router)
api.add_router("", evaluation_router)
