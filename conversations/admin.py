from django.contrib import admin
from django.http import HttpRequest

from conversations.models import (
    Approval,
    Conversation,
    GuardrailEvent,
    Handoff,
    Message,
    ShadowPair,
    ToolCall,
)


class MessageInline(admin.TabularInline):
    model = Message
    extra = 0
    can_delete = False
    fields = ["role", "status", "agent", "model", "content", "error", "completion_tokens", "latency_ms"]
    readonly_fields = fields
    show_change_link = True


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):
    list_display = ["__str__", "account", "user", "agent", "updated_at"]
    list_filter = ["account"]
    search_fields = ["title", "user__username"]
    list_select_related = ["account", "user", "agent"]
    readonly_fields = ["created_at", "updated_at"]
    inlines = [MessageInline]


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    """Read-only: messages are written by the chat and the worker, never by hand."""

    list_display = ["pk", "conversation", "role", "status", "model", "latency_ms", "created_at"]
    list_filter = ["role", "status", "conversation__account"]
    search_fields = ["content"]
    list_select_related = ["conversation"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class ReadOnlyAdmin(admin.ModelAdmin):
    """Audit records: written by the runtime, read by people."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Approval)
class ApprovalAdmin(ReadOnlyAdmin):
    list_display = [
        "pk",
        "tool_call",
        "conversation",
        "decision",
        "decided_by",
        "decided_at",
        "allow_for_conversation",
    ]
    list_filter = ["decision", "conversation__account"]
    list_select_related = ["tool_call", "conversation", "decided_by"]


@admin.register(ToolCall)
class ToolCallAdmin(ReadOnlyAdmin):
    list_display = ["pk", "tool_slug", "agent", "status", "conversation", "idempotency_key", "created_at"]
    list_filter = ["status", "tool_slug", "conversation__account"]
    list_select_related = ["agent", "conversation"]


@admin.register(Handoff)
class HandoffAdmin(ReadOnlyAdmin):
    list_display = ["pk", "conversation", "from_agent", "to_agent", "via", "reason", "created_at"]
    list_filter = ["via", "conversation__account"]
    list_select_related = ["conversation", "from_agent", "to_agent"]


@admin.register(GuardrailEvent)
class GuardrailEventAdmin(ReadOnlyAdmin):
    list_display = ["pk", "kind", "agent", "conversation", "detail", "created_at"]
    list_filter = ["kind", "conversation__account"]
    list_select_related = ["agent", "conversation"]


@admin.register(ShadowPair)
class ShadowPairAdmin(admin.ModelAdmin):
    list_display = ["created_at", "question", "legacy_reply", "shadow_reply"]
    list_select_related = ["question", "legacy_reply", "shadow_reply"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False
