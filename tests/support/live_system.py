"""A customer's live system on the loopback, for the exactly-once tests and bench/faults.py: a real
HTTP server that records every request it gets (with its ``Idempotency-Key``)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ACTION = '{"method": "POST", "path": "/services/billing/restart", "body": {"reason": "stuck"}}'
# What the operator agent is told to do (the scripted model): one gated call, then a sentence.
SCRIPT = f"@operator: tool live_system_request {ACTION}; say The billing service was restarted."


class LiveSystem:
    """Records each request; ``hold`` keeps the next answer back until released (or ``delay``)."""

    def __init__(self, *, delay: float = 0.0) -> None:
        self.requests: list[dict] = []
        self.received = threading.Event()
        self.release = threading.Event()
        self.hold_first = False
        self.delay = delay
        system = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                first = not system.requests
                system.requests.append(
                    {"path": self.path, "key": self.headers.get("Idempotency-Key"), "body": body}
                )
                system.received.set()
                if first and system.hold_first:
                    system.release.wait(30)
                elif system.delay:
                    system.release.wait(system.delay)
                payload = json.dumps({"restarted": True}).encode()
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    pass  # the caller is gone (killed): the action happened all the same

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> LiveSystem:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
