from django.apps import AppConfig


class EscalationsConfig(AppConfig):
    name = "escalations"
    verbose_name = "Escalations"

    def ready(self) -> None:
        from escalations.consultation import on_run_finished
        from orchestration.signals import run_finished

        run_finished.connect(on_run_finished, dispatch_uid="escalations.consultation")

        from conversations.signals import feedback_given, reply_finished
        from escalations.receivers import on_feedback_given, on_reply_finished

        reply_finished.connect(on_reply_finished, dispatch_uid="escalations.inspect_reply")
        feedback_given.connect(on_feedback_given, dispatch_uid="escalations.inspect_feedback")

        import durable
        from escalations.consultation import consultation_orphans, consultation_resend
        from escalations.ladder import phase_orphans, phase_resend

        durable.register("escalation_phase", find=phase_orphans, resend=phase_resend)
        durable.register("consultation", find=consultation_orphans, resend=consultation_resend)
