from django.apps import AppConfig


class ConversationsConfig(AppConfig):
    name = "conversations"

    def ready(self) -> None:
        from conversations.gates import register

        register()  # the rollout gate "error rate: multi-agent <= legacy"

        import durable
        from conversations.replies import reply_orphans, reply_resend

        durable.register("reply", find=reply_orphans, resend=reply_resend)
