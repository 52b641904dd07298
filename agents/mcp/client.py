"""The one place that talks to MCP servers, through the official ``mcp`` SDK. Each function
opens a session, does one thing and closes it, all within the server's timeout; the worker and
web processes are synchronous, so each runs its own short event loop."""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from typing import Any

import anyio
from mcp import Client, MCPError, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from agents.mcp import crypto
from agents.mcp.models import McpServer

logger = logging.getLogger(__name__)


class McpUnreachable(Exception):
    """No session could be opened: nothing was sent, so no tool acted."""


class McpTimeout(Exception):
    """The server took longer than its timeout; a call may have acted."""


class McpBroken(Exception):
    """The session broke after a call was sent; it may have acted."""


@dataclass(frozen=True)
class DiscoveredTool:
    name: str
    title: str
    description: str
    input_schema: dict
    annotations: dict


@dataclass(frozen=True)
class CallOutcome:
    is_error: bool
    payload: Any  # the structured result, or the text blocks joined


@dataclass(frozen=True)
class CallIdentity:
    """Who is calling: sent to stateful servers only."""

    account_slug: str
    agent_id: int | None
    conversation_id: int | None


def _headers(server: McpServer, identity: CallIdentity | None) -> dict[str, str]:
    headers: dict[str, str] = {}
    credential = crypto.decrypt(server.credential_encrypted)
    if credential:
        headers["Authorization"] = f"Bearer {credential}"
    if identity is not None and server.stateful:
        headers["X-MCP-Account"] = identity.account_slug
        if identity.agent_id is not None:
            headers["X-MCP-Agent-Instance"] = str(identity.agent_id)
    return headers


def _client(server: McpServer, identity: CallIdentity | None, http: Any) -> Client:
    timeout = float(server.timeout_seconds)
    if server.transport == McpServer.Transport.STDIO:
        env = (
            {"MCP_TOKEN": crypto.decrypt(server.credential_encrypted)}
            if server.credential_encrypted
            else None
        )
        target: Any = StdioServerParameters(command=server.command, args=list(server.command_args), env=env)
    else:
        target = streamable_http_client(server.url, http_client=http)
    # No response cache: a listing must be fresh and a call must always reach the server.
    return Client(target, read_timeout_seconds=timeout, cache=None)


async def _with_session(server: McpServer, identity: CallIdentity | None, work) -> Any:
    http = create_mcp_http_client(headers=_headers(server, identity))
    async with http:
        try:
            client = _client(server, identity, http)
            await client.__aenter__()
        except Exception as error:
            raise McpUnreachable(_describe(error)) from None
        try:
            return await work(client)
        finally:
            try:
                await client.__aexit__(None, None, None)
            except Exception as error:  # closing a broken session must not hide the call's outcome
                logger.debug("closing the MCP session of server %s failed: %s", server.pk, _describe(error))


def _describe(error: BaseException) -> str:
    """A short reason, from the innermost exception of a task group's group."""
    while isinstance(error, BaseExceptionGroup) and error.exceptions:
        error = error.exceptions[0]
    text = str(error) or type(error).__name__
    return text[:300]


def _run(server: McpServer, identity: CallIdentity | None, work) -> Any:
    async def bounded() -> Any:
        with anyio.fail_after(float(server.timeout_seconds)):
            return await _with_session(server, identity, work)

    try:
        return asyncio.run(bounded())
    except TimeoutError:
        raise McpTimeout(f"no answer within {server.timeout_seconds:g} s") from None


def list_tools(server: McpServer) -> list[DiscoveredTool]:
    async def work(client: Client) -> list[DiscoveredTool]:
        found: list[DiscoveredTool] = []
        cursor = None
        while True:
            page = await client.list_tools(cursor=cursor)
            for tool in page.tools:
                annotations = (
                    tool.annotations.model_dump(by_alias=True, exclude_none=True) if tool.annotations else {}
                )
                found.append(
                    DiscoveredTool(
                        name=tool.name,
                        title=tool.title or (annotations.get("title") or ""),
                        description=tool.description or "",
                        input_schema=dict(tool.input_schema or {}),
                        annotations=annotations,
                    )
                )
            cursor = page.next_cursor
            if not cursor:
                return found

    try:
        return _run(server, None, work)
    except (McpUnreachable, McpTimeout):
        raise
    except Exception as error:
        raise McpBroken(_describe(error)) from None


def call_tool(
    server: McpServer, name: str, arguments: dict, *, idempotency_key: str, identity: CallIdentity
) -> CallOutcome:
    meta: dict[str, Any] = {"idempotency_key": idempotency_key}
    if server.stateful:
        meta.update(account=identity.account_slug, agent_instance=identity.agent_id)

    async def work(client: Client) -> CallOutcome:
        try:
            result = await client.call_tool(name, arguments, meta=meta)
        except (TimeoutError, anyio.get_cancelled_exc_class()):
            raise
        except MCPError as error:  # the server answered, with a protocol error: nothing ran
            return CallOutcome(True, _describe(error))
        except Exception as error:
            raise McpBroken(_describe(error)) from None
        structured = result.structured_content
        if structured is not None and not result.is_error:
            # A primitive result comes wrapped as {"result": value} (the SDK's output schema).
            if isinstance(structured, dict) and set(structured) == {"result"}:
                return CallOutcome(False, structured["result"])
            return CallOutcome(False, structured)
        parts = []
        for block in result.content:
            text = getattr(block, "text", None)
            parts.append(text if text is not None else {"type": block.type})
        if all(isinstance(p, str) for p in parts):
            text = "\n".join(parts)
            if not result.is_error and text.lstrip().startswith(("{", "[")):
                try:  # a JSON object sent as text: the model reads it better parsed
                    return CallOutcome(False, json.loads(text))
                except ValueError:
                    pass
            return CallOutcome(result.is_error, text)
        return CallOutcome(result.is_error, parts)

    return _run(server, identity, work)
