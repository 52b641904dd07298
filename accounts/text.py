"""Whether a piece of text may be stored: the one check for form fields, API bodies, query strings,
sockets and services.

Refused: NUL characters (PostgreSQL rejects them, so they would fail late with a DataError),
lone surrogates (they cannot be encoded as UTF-8, so saving or rendering them fails) and bytes
that were not UTF-8. Callers decode untrusted bytes with ``surrogateescape``, which turns each
undecodable byte into a lone surrogate, so one check covers both.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.core.exceptions import ValidationError

NUL_MESSAGE = "NUL characters (\\x00) are not allowed."
ENCODING_MESSAGE = "Text must be valid UTF-8: no lone surrogates or undecodable bytes."


def text_problem(value: str) -> str | None:
    """What is wrong with ``value`` as storable text, or None when nothing is."""
    if "\x00" in value:
        return NUL_MESSAGE
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return ENCODING_MESSAGE
    return None


def text_validate(value: str, *, field: str | None = None) -> str:
    """``value`` unchanged, or a ValidationError (under ``field`` when given) saying what is wrong."""
    problem = text_problem(value)
    if problem is not None:
        raise ValidationError({field: problem} if field else problem, code="invalid_text")
    return value


def _walk(data: object, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], str]]:
    if isinstance(data, str):
        yield path, data
    elif isinstance(data, dict):
        for key, value in data.items():
            key = str(key)
            yield (*path, key), key  # a bad key is reported where it would have been
            yield from _walk(value, (*path, key))
    elif isinstance(data, list | tuple):
        for index, value in enumerate(data):
            yield from _walk(value, (*path, str(index)))


def data_text_problem(data: object) -> tuple[str, str] | None:
    """The first string in decoded JSON that ``text_problem`` refuses, as (dotted field path, message):
    ``{"tasks": [{"input": "a\\u0000"}]}`` -> ("tasks.0.input", ...), the API's field naming."""
    for path, value in _walk(data, ()):
        problem = text_problem(value)
        if problem is not None:
            return ".".join(path) or "body", problem
    return None
