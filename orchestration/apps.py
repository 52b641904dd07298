from django.apps import AppConfig


class OrchestrationConfig(AppConfig):
    name = "orchestration"
    verbose_name = "Orchestration runs"

    def ready(self) -> None:
        # Registers the ``delegate`` tool handler with the agents' tool registry.
        from orchestration import delegation  # noqa: F401

        register_durable_work()


def register_durable_work() -> None:
    """The durable work of runs (tasks, aggregations, joins), for the recovery scan."""
    from orchestration import recovery

    recovery.register()
