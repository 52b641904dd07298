"""A real MCP server for tests: the ``mcp`` SDK's server side (MCPServer) with a read-only tool
and a gated one. Served two ways:

- streamable HTTP by uvicorn on loopback in a thread (``start_mcp_server``): it checks a bearer
  token and remembers every call it receives (arguments, _meta and headers), so tests can count
  what reached it; a test can hold the next call of a tool "in flight" until it releases it;
- stdio, as the local command a staff member registers (``python tests/support/mcp_server.py
  --stdio --calls FILE``): it refuses to start without the token in ``MCP_TOKEN`` and appends
  each call it receives to FILE as a JSON line (it lives in another process).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations

TOKEN = "mcp-test-credential-7f3a9c2e51"
HOLD_LIMIT = 30  # a held call answers after this many seconds even if nobody releases it


@dataclass
class ReceivedCall:
    tool: str
    arguments: dict
    meta: dict
    headers: dict


def orders_server(record: Callable[[str, dict, Context], None], wait: Callable[[str], None]) -> MCPServer:
    """The tools, whatever the transport: ``record`` is told of each call before it acts and
    ``wait`` may hold it there."""
    mcp = MCPServer("orders")

    @mcp.tool(annotations=ToolAnnotations(readOnlyHint=True))
    def order_status(order: str, ctx: Context) -> dict:
        """Where an order is: its status and carrier."""
        record("order_status", {"order": order}, ctx)
        wait("order_status")
        if order == "missing":
            raise ToolError(f"there is no order {order}")
        return {"order": order, "status": "shipped", "carrier": "DHL"}

    @mcp.tool()
    def refund_order(order: str, amount: float, ctx: Context) -> str:
        """Refund an amount of an order to the customer."""
        record("refund_order", {"order": order, "amount": amount}, ctx)
        wait("refund_order")
        return f"refunded {amount:.2f} on {order}"

    return mcp


@dataclass
class McpTestServer:
    port: int
    token: str = TOKEN
    calls: list[ReceivedCall] = field(default_factory=list)
    _held: set[str] = field(default_factory=set)
    _release: threading.Event = field(default_factory=threading.Event)
    _arrived: threading.Condition = field(default_factory=threading.Condition)
    _server: uvicorn.Server | None = None
    _thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"

    def calls_of(self, tool: str) -> list[ReceivedCall]:
        return [c for c in self.calls if c.tool == tool]

    def hold_next(self, tool: str) -> None:
        """The next call of ``tool`` is received (and recorded) but not answered until
        ``release()``: a call in flight, for a test to kill its caller meanwhile."""
        self._release.clear()
        self._held.add(tool)

    def release(self) -> None:
        self._release.set()

    def wait_for_call(self, tool: str, timeout: float) -> bool:
        """Until a call of ``tool`` has reached the server."""
        with self._arrived:
            return self._arrived.wait_for(lambda: bool(self.calls_of(tool)), timeout)

    def _record(self, tool: str, arguments: dict, ctx: Context) -> None:
        request = ctx.request_context.request
        headers = dict(request.headers) if request is not None else {}
        with self._arrived:
            self.calls.append(ReceivedCall(tool, arguments, dict(ctx.request_context.meta or {}), headers))
            self._arrived.notify_all()

    def _wait(self, tool: str) -> None:
        if tool in self._held:
            self._held.discard(tool)
            self._release.wait(HOLD_LIMIT)

    def _app(self) -> Any:
        inner = orders_server(self._record, self._wait).streamable_http_app(
            stateless_http=True, json_response=True
        )
        expected = f"Bearer {self.token}".encode()

        async def app(scope, receive, send):
            # Lifespan and anything that is not HTTP go straight through; HTTP needs the token.
            if scope["type"] == "http" and dict(scope["headers"]).get(b"authorization") != expected:
                await send({"type": "http.response.start", "status": 401, "headers": []})
                await send({"type": "http.response.body", "body": b"unauthorized"})
                return
            await inner(scope, receive, send)

        return app

    def start(self) -> McpTestServer:
        config = uvicorn.Config(self._app(), host="127.0.0.1", port=self.port, log_level="warning")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name=f"mcp-{self.port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the test MCP server did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self._release.set()
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(10)


def start_mcp_server(port: int | None = None) -> McpTestServer:
    from tests.support.stack import free_port

    return McpTestServer(port=port or free_port()).start()


def stdio_command(calls_file: str) -> tuple[str, list[str]]:
    """The command and arguments a staff member would register to run this server over stdio."""
    return sys.executable, [os.path.abspath(__file__), "--stdio", "--calls", calls_file]


def read_stdio_calls(calls_file: str) -> list[ReceivedCall]:
    if not os.path.exists(calls_file):
        return []
    with open(calls_file, encoding="utf-8") as lines:
        return [ReceivedCall(**json.loads(line)) for line in lines if line.strip()]


def _serve_stdio(calls_file: str) -> None:
    if os.environ.get("MCP_TOKEN") != TOKEN:
        sys.exit("unauthorized: MCP_TOKEN is missing or wrong")

    def record(tool: str, arguments: dict, ctx: Context) -> None:
        meta = dict(ctx.request_context.meta or {})
        call = {"tool": tool, "arguments": arguments, "meta": meta, "headers": {}}
        with open(calls_file, "a", encoding="utf-8") as out:
            out.write(json.dumps(call) + "\n")

    orders_server(record, lambda tool: None).run("stdio")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stdio", action="store_true", required=True)
    parser.add_argument("--calls", required=True, help="append each call received here (JSON lines)")
    _serve_stdio(parser.parse_args().calls)
