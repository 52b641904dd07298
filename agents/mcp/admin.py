"""Django admin for MCP servers: staff register global ones (stdio included), set who may use
them, discover tools and set each tool's approval gate. The credential is write-only."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages

from agents.mcp import crypto
from agents.mcp.models import McpCall, McpServer, McpTool
from agents.mcp.services import McpServerUnavailable, mcp_server_check_health, mcp_server_discover


class McpServerForm(forms.ModelForm):
    # Declared so a scheme-less address means https (Django 6's default), without the warning.
    url = forms.URLField(
        required=False, max_length=500, assume_scheme="https", help_text="The streamable HTTP endpoint."
    )
    credential = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Sent as a bearer token (stdio: as MCP_TOKEN). Leave empty to keep the current one.",
    )
    clear_credential = forms.BooleanField(required=False)

    class Meta:
        model = McpServer
        fields = [
            "account", "slug", "name", "transport", "url", "command", "command_args", "stateful",
            "available_to_all", "allowed_accounts", "timeout_seconds", "max_calls_per_minute",
            "max_result_chars", "enabled",
        ]  # fmt: skip

    def save(self, commit: bool = True) -> McpServer:
        server = super().save(commit=False)
        if self.cleaned_data.get("clear_credential"):
            server.credential_encrypted, server.credential_hint = "", ""
        elif self.cleaned_data.get("credential"):
            server.credential_encrypted = crypto.encrypt(self.cleaned_data["credential"])
            server.credential_hint = crypto.hint(self.cleaned_data["credential"])
        if commit:
            server.save()
            self.save_m2m()
        return server


class McpToolInline(admin.TabularInline):
    model = McpTool
    fields = ["name", "tool", "listed", "annotations"]
    readonly_fields = ["name", "tool", "listed", "annotations"]
    extra = 0
    can_delete = False
    show_change_link = False


@admin.register(McpServer)
class McpServerAdmin(admin.ModelAdmin):
    form = McpServerForm
    list_display = ["name", "slug", "account", "transport", "enabled", "health", "health_checked_at"]
    list_filter = ["transport", "health", "enabled"]
    search_fields = ["name", "slug", "account__slug"]
    readonly_fields = ["credential_hint", "health", "health_checked_at", "last_error", "discovered_at"]
    filter_horizontal = ["allowed_accounts"]
    inlines = [McpToolInline]
    actions = ["discover_tools", "check_health"]

    @admin.action(description="Discover tools")
    def discover_tools(self, request, queryset) -> None:
        for server in queryset:
            try:
                found = mcp_server_discover(server=server)
                self.message_user(request, f"{server}: {len(found)} tool(s).")
            except McpServerUnavailable as error:
                self.message_user(request, f"{server}: {error}", level=messages.ERROR)

    @admin.action(description="Check health now")
    def check_health(self, request, queryset) -> None:
        for server in queryset:
            ok = mcp_server_check_health(server=server)
            self.message_user(request, f"{server}: {'healthy' if ok else 'unhealthy'}")


@admin.register(McpCall)
class McpCallAdmin(admin.ModelAdmin):
    list_display = ["idempotency_key", "server", "tool", "account", "outcome", "duration_ms", "started_at"]
    list_filter = ["outcome", "server"]
    search_fields = ["idempotency_key"]
    readonly_fields = [f.name for f in McpCall._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False
