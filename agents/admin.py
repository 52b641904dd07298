from django.contrib import admin

from agents.models import AgentInstance, AgentTemplate, KnowledgeArticle


@admin.register(AgentTemplate)
class AgentTemplateAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "workflow_kind", "version"]
    search_fields = ["name", "slug"]


@admin.register(AgentInstance)
class AgentInstanceAdmin(admin.ModelAdmin):
    list_display = ["name", "account", "template", "model", "status", "is_default"]
    list_filter = ["status", "account", "template"]
    search_fields = ["name", "slug"]


@admin.register(KnowledgeArticle)
class KnowledgeArticleAdmin(admin.ModelAdmin):
    list_display = ["title", "account", "tags", "updated_at"]
    list_filter = ["account"]
    search_fields = ["title", "body", "tags"]
