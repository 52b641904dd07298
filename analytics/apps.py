from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "analytics"
    verbose_name = "Analytics"

    def ready(self) -> None:
        from analytics.db import connect_signals
        from analytics.gates import register

        connect_signals()
        register()  # the rollout gate "no open critical alerts"
