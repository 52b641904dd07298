from django.contrib import admin

from conversations.models import Conversation, Message


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
