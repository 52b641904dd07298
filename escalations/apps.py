from django.apps import AppConfig


class EscalationsConfig(AppConfig):
    name = "escalations"
    verbose_name = "Escalations"

    def ready(self) -> None:
        from escalations.consultation import on_run_finished
        from orchestration.signals import run_finished

        run_finished.connect(on_run_finished, dispatch_uid="escalations.consultation")

        import durable
        from escalations.consultation import consultation_orphans, consultation_resend
        from escalations.ladder import phase_orphans, phase_resend

        durable.register("escalation_phase", find=phase_orphans, resend=phase_resend)
        durable.register("consultation", find=consultation_orphans, resend=consultation_resend)
