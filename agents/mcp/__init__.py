"""Tools from MCP servers: servers registered as data, their discovered tools as registry
tools (name-spaced by server), dispatched through the official ``mcp`` SDK under the same
guard rails as the built-in tools."""
