from django.db import models

from accounts.models import Account


class AgentTemplate(models.Model):
    """A kind of agent, shared by all accounts; accounts configure instances of it."""

    class WorkflowKind(models.TextChoices):
        CONVERSATIONAL = "conversational", "Conversational"

    slug = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=120)
    workflow_kind = models.CharField(
        max_length=40, choices=WorkflowKind.choices, default=WorkflowKind.CONVERSATIONAL
    )
    version = models.CharField(max_length=20, default="1")
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"


class AgentInstance(models.Model):
    """An account's configured agent."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        SUSPENDED = "suspended", "Suspended"
        CONFIGURING = "configuring", "Configuring"

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="agents")
    template = models.ForeignKey(AgentTemplate, on_delete=models.PROTECT, related_name="instances")
    slug = models.SlugField(max_length=60)
    name = models.CharField(max_length=120)
    model = models.CharField(
        max_length=200, blank=True, help_text="litellm model name; blank uses LLM_MODEL."
    )
    system_prompt = models.TextField(blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)
    is_default = models.BooleanField(
        default=False, help_text="Answers conversations that no router has assigned."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["account", "slug"], name="unique_agent_slug_per_account"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.account.slug})"


class KnowledgeArticle(models.Model):
    """What the account knows; the offline model answers only from these."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="articles")
    slug = models.SlugField(max_length=100)
    title = models.CharField(max_length=200)
    body = models.TextField(help_text="Markdown. Paragraphs are retrieved separately.")
    tags = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["title"]
        constraints = [
            models.UniqueConstraint(fields=["account", "slug"], name="unique_article_slug_per_account"),
        ]

    def __str__(self) -> str:
        return self.title
