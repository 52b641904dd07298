"""A small OpenAI-compatible chat server on loopback, so litellm's real HTTP
streaming path runs in tests. Behaviour per model name:

- ``*-slow``: waits 5 s before answering (for timeouts);
- ``*-broken``: answers 500;
- anything else: streams "Hello from the loopback server." word by word, then usage.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

REPLY = "Hello from the loopback server."


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        body = json.loads(self.rfile.read(length) or b"{}")
        self.server.requests.append({"path": self.path, "body": body, "headers": dict(self.headers)})
        model = body.get("model", "")
        if model.endswith("-broken"):
            payload = json.dumps({"error": {"message": "upstream exploded", "type": "server_error"}})
            self._send(500, "application/json", payload.encode())
            return
        if model.endswith("-slow"):
            time.sleep(5)
        words = REPLY.split(" ")
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        for i, word in enumerate(words):
            text = word if i == len(words) - 1 else word + " "
            self._event({"choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}]}, model)
        self._event({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}, model)
        self._event(
            {"choices": [], "usage": {"prompt_tokens": 11, "completion_tokens": 6, "total_tokens": 17}}, model
        )
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()
        self.close_connection = True

    def _event(self, data: dict, model: str) -> None:
        data = {
            "id": "chatcmpl-test",
            "object": "chat.completion.chunk",
            "created": 0,
            "model": model,
            **data,
        }
        self.wfile.write(f"data: {json.dumps(data)}\n\n".encode())
        self.wfile.flush()

    def _send(self, status: int, content_type: str, payload: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


class LoopbackOpenAIServer:
    def __init__(self) -> None:
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.requests = []
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    @property
    def requests(self) -> list[dict]:
        return self.httpd.requests

    def __enter__(self) -> LoopbackOpenAIServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
