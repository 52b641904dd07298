from django.contrib import admin, messages

from accounts.auth import api_token_create, api_tokens_revoke
from accounts.models import Account, ApiToken, Membership


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "tier", "double_texting", "created_at"]
    list_filter = ["tier", "double_texting"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "account", "role", "created_at"]
    list_filter = ["role", "account"]
    search_fields = ["user__username", "account__name"]
    autocomplete_fields = ["user", "account"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are generated here, never typed in: the raw token is shown once after saving."""

    list_display = ["name", "prefix", "user", "created_at", "last_used_at", "revoked"]
    list_filter = ["revoked"]
    search_fields = ["name", "prefix", "user__username"]
    list_select_related = ["user"]
    autocomplete_fields = ["user"]
    actions = ["revoke"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["user", "name"]
        return ["user", "name", "prefix", "created_at", "last_used_at", "revoked"]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return ["user", "prefix", "created_at", "last_used_at", "revoked"]

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        token, raw = api_token_create(user=obj.user, name=obj.name)
        # The admin goes on with ``obj`` (log entry, redirect): make it the saved row.
        obj.pk = token.pk
        obj.key_hash, obj.prefix, obj.created_at = token.key_hash, token.prefix, token.created_at
        obj._state.adding = False
        obj._state.db = token._state.db
        messages.warning(
            request,
            f"The new API token for {token.user} is {raw} — copy it now: it is not stored and "
            "will not be shown again.",
        )

    @admin.action(description="Revoke selected tokens")
    def revoke(self, request, queryset):
        count = api_tokens_revoke(tokens=queryset)
        self.message_user(request, f"Revoked {count} token{'s' if count != 1 else ''}.", messages.SUCCESS)
