from django.apps import AppConfig


class OrchestrationConfig(AppConfig):
    name = "orchestration"
    verbose_name = "Orchestration runs"

    def ready(self) -> None:
        # Registers the ``delegate`` tool handler with the agents' tool registry.
        from orchestration import delegation  # noqa: F401
