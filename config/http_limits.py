"""Answer oversized request lines and headers instead of dropping the connection.

daphne serves HTTP with Twisted's ``HTTPChannel``. A single line longer than its line limit
(16 KiB) reaches ``LineReceiver.lineLengthExceeded``, which closes the socket without a word, and
headers over the total limit get a bare ``400`` with no body. Clients (and the people behind
them) deserve the status that says what happened: ``414`` for a request line, ``431`` for
headers, with a short JSON body like the API's other errors. daphne has no option for this, so
the two methods are replaced once, when the ASGI application is imported.
"""

from __future__ import annotations

import json

from twisted.web import http

_REASONS = {414: b"URI Too Long", 431: b"Request Header Fields Too Large", 400: b"Bad Request"}
_DETAILS = {
    414: "The request line is too long.",
    431: "The request headers are too large.",
    400: "The request could not be read.",
}


def _answer_and_close(channel: http.HTTPChannel, status: int) -> None:
    body = json.dumps({"detail": _DETAILS[status]}).encode()
    head = (
        b"HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
        b"Connection: close\r\n\r\n" % (status, _REASONS[status], len(body))
    )
    channel.transport.write(head + body)
    channel.loseConnection()


def _still_on_request_line(channel: http.HTTPChannel) -> bool:
    return bool(getattr(channel, "_HTTPChannel__first_line", 0))


def _line_too_long(self: http.HTTPChannel, line: bytes) -> None:
    _answer_and_close(self, 414 if _still_on_request_line(self) else 431)


def _bad_request(self: http.HTTPChannel) -> None:
    too_large = self._receivedHeaderSize > self.totalHeadersSize
    _answer_and_close(self, 431 if too_large else 400)


def install() -> None:
    """Idempotent; called by ``config.asgi``."""
    http.HTTPChannel.lineLengthExceeded = _line_too_long
    http.HTTPChannel._respondToBadRequestAndDisconnect = _bad_request
