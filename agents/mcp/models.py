"""MCP servers, the tools discovered on them, and every call made to them."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from accounts.models import Account


class McpServer(models.Model):
    """A Model Context Protocol server whose tools agents may call. Registered for one account
    (by its admins) or globally (by staff), then offered to the accounts it names."""

    class Transport(models.TextChoices):
        STREAMABLE_HTTP = "streamable_http", "Streamable HTTP"
        # A local command run as a subprocess: staff only, since it runs on our machines.
        STDIO = "stdio", "stdio (local command, staff only)"

    class Health(models.TextChoices):
        UNKNOWN = "unknown", "Not checked yet"
        HEALTHY = "healthy", "Healthy"
        UNHEALTHY = "unhealthy", "Unhealthy"

    account = models.ForeignKey(
        Account, null=True, blank=True, on_delete=models.CASCADE, related_name="mcp_servers",
        help_text="The account that owns it; empty for a global server registered by staff.",
    )  # fmt: skip
    slug = models.SlugField(max_length=30, help_text="Name-spaces its tools: <slug>__<tool>.")
    name = models.CharField(max_length=120)
    transport = models.CharField(max_length=20, choices=Transport.choices, default=Transport.STREAMABLE_HTTP)
    url = models.URLField(max_length=500, blank=True, help_text="The streamable HTTP endpoint.")
    command = models.CharField(max_length=300, blank=True, help_text="stdio: the program to run.")
    command_args = models.JSONField(default=list, blank=True, help_text="stdio: its arguments.")
    credential_encrypted = models.TextField(
        blank=True, editable=False, help_text="Sent as a bearer token; stored encrypted."
    )
    credential_hint = models.CharField(max_length=12, blank=True, editable=False)
    stateful = models.BooleanField(
        default=False, help_text="Each call carries the account and the agent instance (headers and _meta)."
    )
    available_to_all = models.BooleanField(
        default=False, help_text="Global servers: every account may use it."
    )
    allowed_accounts = models.ManyToManyField(
        Account, blank=True, related_name="shared_mcp_servers",
        help_text="Global servers: the accounts that may use it.",
    )  # fmt: skip
    timeout_seconds = models.FloatField(default=10.0, help_text="Per call, connection included.")
    max_calls_per_minute = models.PositiveIntegerField(default=60, help_text="Per account; 0 means no limit.")
    max_result_chars = models.PositiveIntegerField(
        default=20000, help_text="A longer result is cut before the model reads it."
    )
    enabled = models.BooleanField(default=True)
    health = models.CharField(max_length=20, choices=Health.choices, default=Health.UNKNOWN)
    health_checked_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    discovered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "MCP server"
        constraints = [
            models.UniqueConstraint(fields=["account", "slug"], name="unique_mcp_server_slug_per_account"),
            models.UniqueConstraint(
                fields=["slug"], condition=Q(account__isnull=True), name="unique_global_mcp_server_slug"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_global(self) -> bool:
        return self.account_id is None

    @property
    def is_available(self) -> bool:
        """Its tools are offered to models: enabled and not known to be down."""
        return self.enabled and self.health != self.Health.UNHEALTHY

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.transport == self.Transport.STDIO:
            if not self.is_global:
                errors["transport"] = "Only staff may register a local command (stdio), and only globally."
            if not self.command:
                errors["command"] = "A stdio server needs the command to run."
        elif not self.url:
            errors["url"] = "A streamable HTTP server needs its endpoint URL."
        elif not self.url.startswith(("http://", "https://")):
            errors["url"] = "The endpoint must be an http:// or https:// URL."
        if not isinstance(self.command_args, list) or not all(isinstance(a, str) for a in self.command_args):
            errors["command_args"] = "The arguments must be a list of strings."
        if not 0.5 <= self.timeout_seconds <= 300:
            errors["timeout_seconds"] = "The timeout must be between 0.5 and 300 seconds."
        if not 100 <= self.max_result_chars <= 1_000_000:
            errors["max_result_chars"] = "The result limit must be between 100 and 1,000,000 characters."
        if errors:
            raise ValidationError(errors)


class McpTool(models.Model):
    """A tool found on a server by "Discover tools". Its registry row (``tool``) is what agents'
    allowlists name; whether a call waits for approval is set there, by an admin."""

    server = models.ForeignKey(McpServer, on_delete=models.CASCADE, related_name="tools")
    name = models.CharField(max_length=128, help_text="The tool's name on the server.")
    description = models.TextField(blank=True)
    input_schema = models.JSONField(default=dict, blank=True)
    annotations = models.JSONField(default=dict, blank=True)
    tool = models.OneToOneField("agents.Tool", on_delete=models.CASCADE, related_name="mcp")
    # Still listed by the server at the last discovery; a tool it dropped is kept for the
    # record but withheld from models.
    listed = models.BooleanField(default=True)
    discovered_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["server", "name"]
        verbose_name = "MCP tool"
        constraints = [models.UniqueConstraint(fields=["server", "name"], name="unique_mcp_tool_per_server")]

    def __str__(self) -> str:
        return f"{self.server.slug}: {self.name}"

    @property
    def read_only(self) -> bool:
        return bool(self.annotations.get("readOnlyHint"))


class McpCall(models.Model):
    """One call to an MCP tool: who, how long, and how it ended. The idempotency key is the
    turn's call key; a completed row answers a repeated call without reaching the server."""

    class Outcome(models.TextChoices):
        RUNNING = "running", "Running"
        OK = "ok", "OK"
        TOOL_ERROR = "tool_error", "The tool reported an error"
        TIMEOUT = "timeout", "Timed out"
        UNREACHABLE = "unreachable", "Server unreachable"
        REFUSED = "refused", "Refused (limit or not available)"
        INTERRUPTED = "interrupted", "Interrupted (not repeated)"

    server = models.ForeignKey(McpServer, on_delete=models.CASCADE, related_name="calls")
    tool = models.ForeignKey(McpTool, null=True, on_delete=models.SET_NULL, related_name="calls")
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    agent_id = models.BigIntegerField(null=True, blank=True)
    conversation_id = models.BigIntegerField(null=True, blank=True)
    idempotency_key = models.CharField(max_length=100, unique=True)
    outcome = models.CharField(max_length=20, choices=Outcome.choices, default=Outcome.RUNNING)
    result = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        verbose_name = "MCP call"
        indexes = [models.Index(fields=["server", "-started_at"])]

    def __str__(self) -> str:
        return f"{self.idempotency_key}: {self.outcome}"
