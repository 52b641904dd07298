from django.apps import AppConfig


class ConversationsConfig(AppConfig):
    name = "conversations"

    def ready(self) -> None:
        from conversations.gates import register

        register()  # the rollout gate "error rate: multi-agent <= legacy"

        from conversations.shadow import shadow_answers_section
        from rollout.pages import flag_page_section_register

        flag_page_section_register("shadow_answers", shadow_answers_section)

        import durable
        from conversations.replies import reply_orphans, reply_resend

        durable.register("reply", find=reply_orphans, resend=reply_resend)

        from agents.activity import agent_recent_replies_register
        from conversations.agent_activity import agent_replies_recent

        agent_recent_replies_register(agent_replies_recent)  # the agent page's recent activity
