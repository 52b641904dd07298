"""Request bodies are checked once, here, before any view, form or API schema sees them.

Django decodes form bodies with ``errors="replace"``, so invalid UTF-8 would be stored as U+FFFD,
and it lets NUL characters and (through JSON escapes) lone surrogates through to the database,
where they fail late as a DataError or a 500. A body over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` raises
``RequestDataTooBig`` wherever it is first read, which Django answers with a bare 400. This
middleware reads the body first and answers both in the app's own formats: JSON for /api/, the
composer's error slot for htmx chat posts, a page otherwise.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from urllib.parse import unquote_to_bytes

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import Resolver404, resolve
from django.utils.text import capfirst

from accounts.text import data_text_problem, text_problem

INVALID_INPUT = "Invalid input"  # the API's detail for a 400 (config.api.INVALID_INPUT)
FORM_TYPES = {"application/x-www-form-urlencoded", "multipart/form-data"}
_DISPOSITION_PARAM = re.compile(rb';\s*([a-zA-Z*]+)="((?:[^"\\]|\\.)*)"')


def _decode(raw: bytes) -> str:
    # Undecodable bytes become lone surrogates, which text_problem refuses as not UTF-8.
    return raw.decode("utf-8", "surrogateescape")


def _urlencoded_fields(raw: bytes) -> Iterator[tuple[bytes, bytes]]:
    for pair in raw.split(b"&"):
        if pair:
            name, _, value = pair.partition(b"=")
            yield unquote_to_bytes(name.replace(b"+", b" ")), unquote_to_bytes(value.replace(b"+", b" "))


def _multipart_fields(raw: bytes, boundary: bytes) -> Iterator[tuple[bytes, bytes]]:
    """The non-file fields of a multipart body: files are bytes, not text, and are left alone."""
    for part in raw.split(b"--" + boundary)[1:]:
        if part.startswith(b"--"):
            break  # the closing delimiter
        head, _, content = part.partition(b"\r\n\r\n")
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-disposition:"):
                params = dict(_DISPOSITION_PARAM.findall(line))
                if b"filename" not in params and b"name" in params:
                    yield params[b"name"], content.removesuffix(b"\r\n")


def _fields_problem(fields: Iterator[tuple[bytes, bytes]]) -> tuple[str, str] | None:
    for raw_name, raw_value in fields:
        name = _decode(raw_name)
        problem = text_problem(name) or text_problem(_decode(raw_value))
        if problem is not None:
            return name.encode("utf-8", "replace").decode("utf-8") or "body", problem
    return None


def _query_problem(request: HttpRequest) -> tuple[str, str] | None:
    query = request.META.get("QUERY_STRING", "")
    if not query:
        return None
    return _fields_problem(_urlencoded_fields(query.encode("utf-8", "surrogateescape")))


def _body_problem(request: HttpRequest, body: bytes) -> tuple[str, str] | None:
    content_type = request.content_type or ""
    if content_type == "application/x-www-form-urlencoded":
        return _fields_problem(_urlencoded_fields(body))
    if content_type == "multipart/form-data":
        boundary = request.content_params.get("boundary", "").encode("latin-1", "replace")
        return _fields_problem(_multipart_fields(body, boundary)) if boundary else None
    if content_type == "application/json" or content_type.endswith("+json"):
        try:
            data = json.loads(_decode(body))
        except ValueError:
            return None  # malformed JSON is the API's own 400
        return data_text_problem(data)
    return None


def _is_api(request: HttpRequest) -> bool:
    return request.path_info.startswith("/api/")


def _is_htmx_chat(request: HttpRequest) -> bool:
    if not request.headers.get("HX-Request"):
        return False
    try:
        return resolve(request.path_info).namespace == "conversations"
    except Resolver404:
        return False


def rejection_response(request: HttpRequest, *, status: int, field: str, message: str) -> HttpResponse:
    """A 400 or 413 naming the field, in the format the client reads."""
    if _is_api(request):
        detail = INVALID_INPUT if status == 400 else message
        return JsonResponse({"detail": detail, "errors": {field: [message]}}, status=status)
    text = f"{capfirst(field)}: {message}" if field != "body" else message
    if _is_htmx_chat(request):
        response = render(request, "conversations/_composer_error.html", {"error": text}, status=status)
        # As the chat views do: errors go to the composer's error slot, not the message list.
        response["HX-Retarget"] = "#composer-error"
        response["HX-Reswap"] = "innerHTML"
        return response
    title = "Request too large" if status == 413 else "Invalid input"
    return render(request, "request_rejected.html", {"title": title, "error": text}, status=status)


def too_large_response(request: HttpRequest) -> HttpResponse:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return rejection_response(
        request,
        status=413,
        field="body",
        message=f"The request is too large: at most {limit:,} bytes can be sent at once.",
    )


class RequestBodyMiddleware:
    """Refuses an oversized body with 413, and a field holding NUL characters, lone surrogates or
    bytes that are not UTF-8 (in the body or the query string) with 400, before any view runs."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        problem = _query_problem(request)
        content_type = request.content_type or ""
        if problem is None and (content_type in FORM_TYPES or "json" in content_type):
            # The app takes no file uploads, so a multipart body is held to the same limit as any.
            limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
            try:
                body = request.body
            except RequestDataTooBig:
                return too_large_response(request)
            if limit is not None and len(body) > limit:  # a chunked body has no Content-Length
                return too_large_response(request)
            problem = _body_problem(request, body)
        if problem is not None:
            field, message = problem
            return rejection_response(request, status=400, field=field, message=message)
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        # A body of another type, read by a view, is held to the limit there.
        if isinstance(exception, RequestDataTooBig):
            return too_large_response(request)
        return None
