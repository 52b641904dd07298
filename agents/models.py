from django.core.exceptions import ValidationError
from django.db import models
from pgvector.django import VectorField

from accounts.models import Account
from agents.validation import validate_config


class AgentTemplate(models.Model):
    """A kind of agent, shared by all accounts; accounts configure instances of it."""

    class WorkflowKind(models.TextChoices):
        CONVERSATIONAL = "conversational", "Conversational"
        ADVISORY = "advisory", "Advisory"
        BUILDER = "builder", "Builder"
        OPERATOR = "operator", "Operator (acts on live systems)"
        TROUBLESHOOTING = "troubleshooting", "Troubleshooting"
        COMMERCIAL = "commercial", "Commercial"
        RESEARCH = "research", "Research"

    slug = models.SlugField(max_length=60)
    name = models.CharField(max_length=120)
    workflow_kind = models.CharField(
        max_length=40, choices=WorkflowKind.choices, default=WorkflowKind.CONVERSATIONAL
    )
    version = models.CharField(max_length=20, default="1")
    description = models.TextField(blank=True)
    config_schema = models.JSONField(
        default=dict, blank=True, help_text="JSON Schema that an instance's config must satisfy."
    )
    default_config = models.JSONField(default=dict, blank=True)
    allowed_tiers = models.JSONField(
        default=list, blank=True, help_text="Account tiers that may use it; empty means every tier."
    )

    class Meta:
        ordering = ["name", "version"]
        constraints = [
            models.UniqueConstraint(fields=["slug", "version"], name="unique_template_version"),
        ]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"

    def clean(self) -> None:
        from agents.validation import validate_schema_document, validate_tiers

        validate_schema_document(self.config_schema, field="config_schema")
        validate_tiers(self.allowed_tiers)
        validate_config(self.config_schema, self.default_config, field="default_config")


class Tool(models.Model):
    """Something an agent can do. The code that runs it is chosen from the tool registry."""

    slug = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=120)
    description = models.TextField()
    handler = models.CharField(max_length=60, help_text="The registered code that runs this tool.")
    args_schema = models.JSONField(default=dict, blank=True, help_text="JSON Schema of the arguments.")
    input_type = models.CharField(max_length=60, default="text")
    output_type = models.CharField(max_length=60, default="text")
    estimated_seconds = models.FloatField(default=1.0)
    cost_estimate_usd = models.DecimalField(max_digits=10, decimal_places=4, default=0)
    acts_on_live_system = models.BooleanField(
        default=False, help_text="Calls a live system: every call waits for a person's approval."
    )
    changes_records = models.BooleanField(
        default=False, help_text="Creates or changes records: every call waits for a person's approval."
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def requires_approval(self) -> bool:
        return self.acts_on_live_system or self.changes_records

    def clean(self) -> None:
        from agents.tools.registry import handler_names
        from agents.validation import validate_schema_document

        validate_schema_document(self.args_schema, field="args_schema")
        if self.handler not in handler_names():
            raise ValidationError(
                {"handler": f"Unknown handler; choose one of {', '.join(handler_names())}."}
            )


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
    description = models.TextField(blank=True, help_text="What it handles, for people and the router.")
    model = models.CharField(
        max_length=200, blank=True, help_text="litellm model name; blank uses LLM_MODEL."
    )
    system_prompt = models.TextField(blank=True)
    config = models.JSONField(default=dict, blank=True, help_text="Validated against the template's schema.")
    tools = models.ManyToManyField(Tool, blank=True, related_name="agents", help_text="The tool allowlist.")
    handoff_targets = models.ManyToManyField(
        "self", symmetrical=False, blank=True, related_name="+", help_text="Agents it may hand off to."
    )
    routing_examples = models.JSONField(
        default=list, blank=True, help_text="Example user messages this agent should receive."
    )
    step_limit = models.PositiveSmallIntegerField(default=10)
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

    def clean(self) -> None:
        from agents.validation import validate_routing_examples

        if self.template_id is not None:
            validate_config(self.template.config_schema, self.config, field="config")
            tiers = self.template.allowed_tiers
            if self.account_id is not None and tiers and self.account.tier not in tiers:
                tier = self.account.get_tier_display()
                raise ValidationError({"template": f"{self.template} is not available on the {tier} tier."})
        validate_routing_examples(self.routing_examples)
        if not 1 <= self.step_limit <= 50:
            raise ValidationError({"step_limit": "The step limit must be between 1 and 50."})


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


class Ticket(models.Model):
    """A support ticket of the account, created and updated by agents' tools."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        IN_PROGRESS = "in_progress", "In progress"
        RESOLVED = "resolved", "Resolved"
        CLOSED = "closed", "Closed"

    class Priority(models.TextChoices):
        LOW = "low", "Low"
        MEDIUM = "medium", "Medium"
        HIGH = "high", "High"
        CRITICAL = "critical", "Critical"

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="tickets")
    number = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN)
    priority = models.CharField(max_length=20, choices=Priority.choices, default=Priority.MEDIUM)
    # The tool call that created it: a retried call finds this row instead of a duplicate.
    idempotency_key = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["account", "number"], name="unique_ticket_number"),
            models.UniqueConstraint(
                fields=["account", "idempotency_key"],
                condition=~models.Q(idempotency_key=""),
                name="unique_ticket_idempotency_key",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.number} {self.title}"


class LiveSystemConnection(models.Model):
    """The account's live system that the HTTP action tool may call (after approval)."""

    account = models.OneToOneField(Account, on_delete=models.CASCADE, related_name="live_system")
    base_url = models.URLField()
    credential = models.CharField(max_length=500, blank=True, help_text="Sent as a bearer token.")
    timeout_seconds = models.FloatField(default=10.0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.account}: {self.base_url}"


class RoutingEvaluation(models.Model):
    """One run of ``eval_routing`` on a labelled file: the router's measured accuracy on a
    date, which rollout gates and the analytics pages read."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="routing_evaluations")
    dataset = models.CharField(max_length=300, help_text="The labelled file that was evaluated.")
    total = models.PositiveIntegerField()
    correct = models.PositiveIntegerField()
    accuracy = models.FloatField()
    per_agent = models.JSONField(default=list, help_text="Precision, recall and support per agent.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["account", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.dataset}: {self.accuracy:.3f} ({self.created_at:%Y-%m-%d})"


class KnowledgeCollection(models.Model):
    """A set of documents of the account, and which of its agents may read them."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="collections")
    slug = models.SlugField(max_length=60)
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    all_agents = models.BooleanField(default=True, help_text="Every agent of the account reads it.")
    readers = models.ManyToManyField(
        AgentInstance,
        blank=True,
        related_name="collections",
        help_text="With 'all agents' off: the agents that read it (others never retrieve from it).",
    )
    holds_articles = models.BooleanField(
        default=False, help_text="The account's articles written in the app are indexed here."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["account", "slug"], name="unique_collection_slug_per_account"),
        ]

    def __str__(self) -> str:
        return self.name


class KnowledgeDocument(models.Model):
    """A document of a collection: uploaded (its original bytes kept for re-indexing) or one of
    the account's articles. Ingestion fills its chunks and reports progress."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        PROCESSING = "processing", "Processing"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    class Format(models.TextChoices):
        MARKDOWN = "markdown", "Markdown"
        TEXT = "text", "Plain text"
        HTML = "html", "HTML"
        PDF = "pdf", "PDF"

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="knowledge_documents")
    collection = models.ForeignKey(KnowledgeCollection, on_delete=models.CASCADE, related_name="documents")
    article = models.OneToOneField(
        KnowledgeArticle, null=True, blank=True, on_delete=models.CASCADE, related_name="document"
    )
    title = models.CharField(max_length=200)
    source = models.CharField(max_length=300, blank=True, help_text="File name or where it came from.")
    format = models.CharField(max_length=20, choices=Format.choices, default=Format.MARKDOWN)
    content = models.BinaryField(blank=True, help_text="The original bytes, re-read by re-indexing.")
    content_hash = models.CharField(max_length=64)
    version = models.PositiveIntegerField(default=1)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED)
    error = models.TextField(blank=True)
    stage = models.CharField(max_length=20, blank=True, help_text="parsed, chunked or embedded")
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    chunk_count = models.PositiveIntegerField(default=0)
    # For an article: the article's updated_at that the chunks were built from.
    source_updated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["title", "id"]
        constraints = [
            models.UniqueConstraint(fields=["collection", "content_hash"], name="unique_document_content"),
        ]
        indexes = [models.Index(fields=["account", "status"])]

    def __str__(self) -> str:
        return self.title


class KnowledgeChunk(models.Model):
    """One retrievable passage (a sentence, with the heading above it) and its embedding."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    collection = models.ForeignKey(KnowledgeCollection, on_delete=models.CASCADE, related_name="+")
    document = models.ForeignKey(KnowledgeDocument, on_delete=models.CASCADE, related_name="chunks")
    position = models.PositiveIntegerField()
    paragraph = models.PositiveIntegerField(default=0)
    sentence = models.PositiveIntegerField(default=0, help_text="Its number within the paragraph.")
    heading = models.CharField(max_length=200, blank=True)
    text = models.TextField()
    terms = models.TextField(blank=True, help_text="Content words, for keyword scoring.")
    embedding = models.BinaryField(help_text="384 float32 values, unit length.")

    class Meta:
        ordering = ["document_id", "position"]
        indexes = [models.Index(fields=["account", "collection"])]

    def __str__(self) -> str:
        return self.text[:60]


class KnowledgeChunkVector(models.Model):
    """A chunk's embedding in a pgvector column with an HNSW index. The table exists only on
    PostgreSQL with the ``vector`` extension (migration 0006 creates it there, with a foreign key
    that deletes it with its chunk); elsewhere retrieval reads ``KnowledgeChunk.embedding``."""

    chunk = models.OneToOneField(
        KnowledgeChunk, primary_key=True, on_delete=models.DO_NOTHING, related_name="+", db_constraint=False
    )
    # Copies of the chunk's, so the account and collection filter runs in the same index scan.
    account_id = models.BigIntegerField()
    collection_id = models.BigIntegerField()
    embedding = VectorField(dimensions=384)

    class Meta:
        managed = False
        db_table = "agents_knowledgechunkvector"

    def __str__(self) -> str:
        return f"vector of chunk {self.chunk_id}"


# The MCP models live in their own package; imported here so Django registers them with the app.
from agents.mcp.models import McpCall, McpServer, McpTool  # noqa: E402, F401
