from django.apps import AppConfig


class EscalationsConfig(AppConfig):
    name = "escalations"
    verbose_name = "Escalations"

    def ready(self) -> None:
        from escalations.consultation import on_run_finished
        from orchestration.signals import run_finished

        run_finished.connect(on_run_finished, dispatch_uid="escalations.consultation")
