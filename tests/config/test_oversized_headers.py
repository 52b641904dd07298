"""daphne answers an oversized request line or headers with 414 / 431 and a JSON body, instead
of closing the connection without a word (Twisted's default for a line over 16 KiB)."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import pytest

from tests.support.stack import Stack

pytestmark = pytest.mark.stack


@pytest.fixture(scope="module")
def web(django_db_setup) -> Iterator[Stack]:
    running = Stack()
    try:
        running.start_web()
        yield running
    finally:
        running.stop()


def raw_request(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def status_and_body(response: bytes) -> tuple[int, dict]:
    head, _, body = response.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), json.loads(body)


def test_one_header_line_over_the_limit_gets_431(web: Stack) -> None:
    huge = b"X-Big: " + b"a" * 20_000
    response = raw_request(web.port, b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n" + huge + b"\r\n\r\n")
    status, body = status_and_body(response)
    assert status == 431
    assert body == {"detail": "The request headers are too large."}


def test_many_headers_adding_up_over_the_limit_get_431(web: Stack) -> None:
    headers = b"".join(b"X-Part-%d: %s\r\n" % (i, b"b" * 1000) for i in range(20))
    response = raw_request(web.port, b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n" + headers + b"\r\n")
    assert status_and_body(response)[0] == 431


def test_a_request_line_over_the_limit_gets_414(web: Stack) -> None:
    response = raw_request(web.port, b"GET /" + b"p" * 20_000 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    assert status_and_body(response)[0] == 414


def test_ordinary_requests_are_untouched(web: Stack) -> None:
    response = raw_request(web.port, b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    assert response.split(b" ")[1] in {b"200", b"503"}
