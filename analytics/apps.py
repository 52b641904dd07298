from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "analytics"
    verbose_name = "Analytics"

    def ready(self) -> None:
        import durable
        from analytics.evaluation import tasks  # noqa: F401 - registers the evaluation run task
        from analytics.evaluation.runner import evaluation_run_orphans, evaluation_run_resend
        from analytics.gates import register
        from analytics.release.registry import register as release_register

        register()  # the rollout gates "hand-off rate" and "no open critical alerts"
        release_register()  # the gate "readiness", the guarded-rollout card and tasks
        durable.register("evaluation_run", find=evaluation_run_orphans, resend=evaluation_run_resend)
