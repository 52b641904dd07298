from django.apps import AppConfig


class AgentsConfig(AppConfig):
    name = "agents"
    verbose_name = "Agents and knowledge"

    def ready(self) -> None:
        # Every process that may call a model (web, worker, tests) knows the
        # offline and scripted providers before the first call.
        from agents.llm.providers import register_custom_providers

        register_custom_providers()
        # The MCP servers' admin, and the handler that runs every tool discovered on them.
        import agents.mcp.admin
        import agents.mcp.dispatch  # noqa: F401
