from django import forms
from django.contrib import admin

from agents.models import (
    AgentInstance,
    AgentTemplate,
    KnowledgeArticle,
    LiveSystemConnection,
    Ticket,
    Tool,
)
from agents.tools.registry import handler_names


@admin.register(AgentTemplate)
class AgentTemplateAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "version", "workflow_kind", "allowed_tiers"]
    list_filter = ["workflow_kind"]
    search_fields = ["name", "slug"]


class ToolForm(forms.ModelForm):
    handler = forms.ChoiceField(choices=())

    class Meta:
        model = Tool
        fields = [
            "slug", "name", "description", "handler", "args_schema", "input_type", "output_type",
            "estimated_seconds", "cost_estimate_usd", "acts_on_live_system", "changes_records",
        ]  # fmt: skip

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["handler"].choices = [(name, name) for name in handler_names()]


@admin.register(Tool)
class ToolAdmin(admin.ModelAdmin):
    form = ToolForm
    list_display = ["name", "slug", "handler", "acts_on_live_system", "changes_records", "estimated_seconds"]
    list_filter = ["acts_on_live_system", "changes_records"]
    search_fields = ["name", "slug", "description"]


# Higher apps add their sections to the agent's page from their own admin module
# (orchestration: capabilities), so this app never imports them.
AGENT_INSTANCE_INLINES: list[type[admin.options.InlineModelAdmin]] = []


@admin.register(AgentInstance)
class AgentInstanceAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "account", "template", "model", "status", "step_limit", "is_default"]
    list_filter = ["status", "account", "template"]
    search_fields = ["name", "slug", "description"]
    filter_horizontal = ["tools", "handoff_targets"]
    list_select_related = ["account", "template"]

    def get_inlines(self, request, obj):
        return [*self.inlines, *AGENT_INSTANCE_INLINES]

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        # Hand-off targets must be agents of the same account.
        if db_field.name == "handoff_targets":
            object_id = request.resolver_match.kwargs.get("object_id")
            agent = AgentInstance.objects.filter(pk=object_id).first() if object_id else None
            if agent is not None:
                kwargs["queryset"] = AgentInstance.objects.filter(account=agent.account).exclude(pk=agent.pk)
        return super().formfield_for_manytomany(db_field, request, **kwargs)


@admin.register(KnowledgeArticle)
class KnowledgeArticleAdmin(admin.ModelAdmin):
    list_display = ["title", "account", "tags", "updated_at"]
    list_filter = ["account"]
    search_fields = ["title", "body", "tags"]


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    list_display = ["number", "title", "account", "status", "priority", "created_at"]
    list_filter = ["status", "priority", "account"]
    search_fields = ["title", "description"]


@admin.register(LiveSystemConnection)
class LiveSystemConnectionAdmin(admin.ModelAdmin):
    list_display = ["account", "base_url", "timeout_seconds", "updated_at"]
