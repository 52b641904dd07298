from django.contrib import admin

from agents.admin import AGENT_INSTANCE_INLINES
from orchestration.models import AgentCapability, TaskRun, WorkflowRun


class AgentCapabilityInline(admin.TabularInline):
    """Shown on the agent's admin page: what it can be asked to do, and at what cost."""

    model = AgentCapability
    extra = 0
    fields = [
        "name", "description", "input_type", "output_type",
        "estimated_seconds", "cost_estimate_usd", "priority",
    ]  # fmt: skip


AGENT_INSTANCE_INLINES.append(AgentCapabilityInline)


@admin.register(AgentCapability)
class AgentCapabilityAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "agent",
        "estimated_seconds",
        "cost_estimate_usd",
        "priority",
        "input_type",
        "output_type",
    ]
    list_filter = ["name", "agent__account"]
    search_fields = ["name", "description", "agent__slug", "agent__name"]
    list_select_related = ["agent", "agent__account"]
    autocomplete_fields = ["agent"]


class TaskRunInline(admin.TabularInline):
    model = TaskRun
    extra = 0
    can_delete = False
    fields = [
        "position",
        "agent_slug",
        "capability",
        "status",
        "attempts",
        "started_at",
        "finished_at",
        "cost_usd",
        "error",
    ]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(WorkflowRun)
class WorkflowRunAdmin(admin.ModelAdmin):
    """Runs are read-only here: they are started and cancelled from the Runs page or the API."""

    list_display = ["__str__", "account", "mode", "status", "created_at", "finished_at", "cost_usd"]
    list_filter = ["mode", "status", "account"]
    search_fields = ["request"]
    list_select_related = ["account"]
    inlines = [TaskRunInline]
    readonly_fields = [f.name for f in WorkflowRun._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
