"""A real MCP server for tests: the ``mcp`` SDK's server side (MCPServer, streamable HTTP)
served by uvicorn on loopback in a thread. It checks a bearer token and remembers every call
it receives (arguments, _meta and headers), so tests can count what reached it."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations

from tests.support.stack import free_port

TOKEN = "mcp-test-credential-7f3a9c2e51"


@dataclass
class ReceivedCall:
    tool: str
    arguments: dict
    meta: dict
    headers: dict


@dataclass
class McpTestServer:
    port: int
    token: str = TOKEN
    calls: list[ReceivedCall] = field(default_factory=list)
    # Set by a test to hold the gated tool until it is released (a call "in flight").
    hold: threading.Event | None = None
    _server: uvicorn.Server | None = None
    _thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"

    def calls_of(self, tool: str) -> list[ReceivedCall]:
        return [c for c in self.calls if c.tool == tool]

    def _record(self, tool: str, arguments: dict, ctx: Context) -> None:
        request = ctx.request_context.request
        headers = dict(request.headers) if request is not None else {}
        self.calls.append(ReceivedCall(tool, arguments, dict(ctx.request_context.meta or {}), headers))

    def _app(self) -> Any:
        mcp = MCPServer("orders")

        @mcp.tool(annotations=ToolAnnotations(readOnlyHint=True))
        def order_status(order: str, ctx: Context) -> dict:
            """Where an order is: its status and carrier."""
            self._record("order_status", {"order": order}, ctx)
            if order == "missing":
                raise ToolError(f"there is no order {order}")
            return {"order": order, "status": "shipped", "carrier": "DHL"}

        @mcp.tool()
        def refund_order(order: str, amount: float, ctx: Context) -> str:
            """Refund an amount of an order to the customer."""
            self._record("refund_order", {"order": order, "amount": amount}, ctx)
            if self.hold is not None:
                self.hold.wait(30)
            return f"refunded {amount:.2f} on {order}"

        inner = mcp.streamable_http_app(stateless_http=True, json_response=True)
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
        if self.hold is not None:
            self.hold.set()
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(10)


def start_mcp_server(port: int | None = None) -> McpTestServer:
    return McpTestServer(port=port or free_port()).start()
