import json

from django import forms
from django.contrib import admin

from agents.models import (
    AgentInstance,
    AgentTemplate,
    KnowledgeArticle,
    KnowledgeChunk,
    KnowledgeCollection,
    KnowledgeDocument,
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


ROUTING_PREFILL_PARAMETER = "add_routing_examples"  # a JSON list of example messages to add


def _suggested_routing_examples(request) -> list[str]:
    """The examples a link asks the agent page to add (ignored unless a JSON list of strings)."""
    raw = request.GET.get(ROUTING_PREFILL_PARAMETER) if request.method == "GET" else None
    try:
        examples = json.loads(raw) if raw else []
    except ValueError:
        return []
    if not isinstance(examples, list):
        return []
    return [" ".join(e.split()) for e in examples if isinstance(e, str) and e.strip()][:50]


@admin.register(AgentInstance)
class AgentInstanceAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "account", "template", "model", "status", "step_limit", "is_default"]
    list_filter = ["status", "account", "template"]
    search_fields = ["name", "slug", "description"]
    filter_horizontal = ["tools", "handoff_targets"]
    list_select_related = ["account", "template"]

    def get_inlines(self, request, obj):
        return [*self.inlines, *AGENT_INSTANCE_INLINES]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form_class = super().get_form(request, obj, change=change, **kwargs)
        suggested = _suggested_routing_examples(request)
        if not suggested or "routing_examples" not in form_class.base_fields:
            return form_class

        class PrefilledForm(form_class):
            """The page opened from an improvement suggestion: the suggested questions are added to
            the routing examples shown, for the admin to trim and save (nothing is saved before)."""

            def __init__(self, *args, **form_kwargs):
                super().__init__(*args, **form_kwargs)
                if not self.is_bound:
                    current = list(self.initial.get("routing_examples") or [])
                    known = {" ".join(e.split()).lower() for e in current if isinstance(e, str)}
                    added = [q for q in suggested if q.lower() not in known]
                    self.initial["routing_examples"] = current + added

        return PrefilledForm

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


@admin.register(KnowledgeCollection)
class KnowledgeCollectionAdmin(admin.ModelAdmin):
    list_display = ["name", "account", "all_agents", "holds_articles", "created_at"]
    list_filter = ["account", "all_agents"]
    search_fields = ["name", "description"]
    filter_horizontal = ["readers"]


class KnowledgeChunkInline(admin.TabularInline):
    model = KnowledgeChunk
    fields = ["position", "paragraph", "heading", "text"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False  # chunks come from ingestion only


@admin.register(KnowledgeDocument)
class KnowledgeDocumentAdmin(admin.ModelAdmin):
    """Status and progress are ingestion's; re-index or upload through the API."""

    list_display = [
        "title",
        "collection",
        "account",
        "format",
        "status",
        "version",
        "chunk_count",
        "updated_at",
    ]
    list_filter = ["status", "format", "account"]
    search_fields = ["title", "source"]
    exclude = ["content"]
    readonly_fields = [
        "article",
        "content_hash",
        "status",
        "error",
        "stage",
        "progress_done",
        "progress_total",
        "chunk_count",
        "source_updated_at",
        "version",
    ]
    inlines = [KnowledgeChunkInline]
    list_select_related = ["collection", "account"]


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    list_display = ["number", "title", "account", "status", "priority", "created_at"]
    list_filter = ["status", "priority", "account"]
    search_fields = ["title", "description"]


@admin.register(LiveSystemConnection)
class LiveSystemConnectionAdmin(admin.ModelAdmin):
    list_display = ["account", "base_url", "timeout_seconds", "updated_at"]
