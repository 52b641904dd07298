from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "analytics"
    verbose_name = "Analytics"

    def ready(self) -> None:
        from analytics.gates import register

        register()  # the rollout gates "hand-off rate" and "no open critical alerts"
