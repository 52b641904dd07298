from django.contrib import admin

from analytics.models import Alert, AlertRule


@admin.register(AlertRule)
class AlertRuleAdmin(admin.ModelAdmin):
    list_display = ("kind", "account", "threshold", "window_minutes", "severity", "enabled")
    list_filter = ("kind", "severity", "enabled", "account")
    list_editable = ("threshold", "enabled")


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = ("message", "account", "severity", "status", "fired_at", "resolved_at", "emailed_at")
    list_filter = ("status", "severity", "account")
    readonly_fields = [f.name for f in Alert._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False
