"""Request and response shapes of the MCP servers API. A credential goes in, and only its
hint ever comes out."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ninja import Field, Schema
from pydantic import ConfigDict


class McpServerIn(Schema):
    """Register or change a streamable HTTP server of the account. On a change, omitted fields
    keep their values; ``credential`` omitted keeps it, "" clears it."""

    model_config = ConfigDict(extra="forbid")

    slug: str | None = Field(None, description="Name-spaces its tools; letters, digits, - and _.")
    name: str | None = None
    url: str | None = Field(
        None, description="The streamable HTTP endpoint, e.g. https://mcp.example.com/mcp."
    )
    transport: str | None = Field(
        None,
        description="streamable_http, the only one an account may use (a local command, stdio, is "
        "registered by staff in the admin: a 400 naming this field).",
    )
    credential: str | None = Field(
        None,
        description="Sent as a bearer token; stored encrypted and never returned.",
        json_schema_extra={"writeOnly": True},
    )
    stateful: bool | None = Field(None, description="Each call carries the account and the agent instance.")
    timeout_seconds: float | None = Field(None, description="Per call, 0.5 to 300.")
    max_calls_per_minute: int | None = Field(None, ge=0, description="Per account; 0 means no limit.")
    max_result_chars: int | None = Field(None, description="A longer result is cut.")
    enabled: bool | None = None


class FiguresOut(Schema):
    calls: int
    errors: int
    mean_ms: float | None
    p95_ms: float | None


class McpToolOut(Schema):
    id: int
    name: str = Field(description="The tool's name on the server.")
    slug: str = Field(description="The registry tool: what an agent's `tools` allowlist names.")
    description: str
    input_schema: dict[str, Any]
    read_only: bool = Field(description="The server annotates it read-only.")
    acts_on_live_system: bool = Field(description="Every call waits for a person's approval.")
    listed: bool = Field(description="Still listed by the server at the last discovery.")
    figures: FiguresOut


class McpToolIn(Schema):
    model_config = ConfigDict(extra="forbid")

    acts_on_live_system: bool


class McpServerOut(Schema):
    id: int
    slug: str
    name: str
    scope: str = Field(description="account (its own) or global (shared by staff; read-only here).")
    transport: str
    url: str
    credential: str = Field(description="Only a hint (****abcd) when one is set, else empty.")
    stateful: bool
    timeout_seconds: float
    max_calls_per_minute: int
    max_result_chars: int
    enabled: bool
    health: str
    health_checked_at: datetime | None
    last_error: str
    discovered_at: datetime | None
    figures: FiguresOut
    tools: list[McpToolOut]
