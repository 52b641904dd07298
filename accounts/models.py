from django.conf import settings
from django.db import models


class Account(models.Model):
    """A tenant. Every domain object belongs to exactly one account."""

    class Tier(models.TextChoices):
        FREE = "free", "Free"
        TEAM = "team", "Team"
        ENTERPRISE = "enterprise", "Enterprise"

    class DoubleTexting(models.TextChoices):
        # The names of LangGraph's multitask strategies, which the chat API also accepts per call.
        REJECT = "reject", "Refuse it until the reply is done"
        ENQUEUE = "enqueue", "Queue it, answer it after the reply"
        INTERRUPT = "interrupt", "Stop the reply (kept, marked interrupted), answer it"
        ROLLBACK = "rollback", "Discard the reply and its question, answer it"

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=60, unique=True)
    tier = models.CharField(max_length=20, choices=Tier.choices, default=Tier.TEAM)
    routing_clarify_below = models.FloatField(
        default=0.5,
        help_text=(
            "When the router's confidence in an agent for a new request is below this (0-1), the user "
            "is asked which of the two likeliest agents they mean instead of being routed on a guess."
        ),
    )
    double_texting = models.CharField(
        max_length=20,
        choices=DoubleTexting.choices,
        default=DoubleTexting.ENQUEUE,
        help_text=(
            "What happens to a message sent while the previous reply is still being written: refused, "
            "queued and answered after it, answered at once after stopping it (kept, marked interrupted), "
            "or answered at once in its place (that reply and its question are hidden)."
        ),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    class Role(models.TextChoices):
        MEMBER = "member", "Member"
        OPERATOR = "operator", "Operator"
        ADMIN = "admin", "Admin"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "account"], name="unique_membership"),
        ]
        ordering = ["account__name"]

    def __str__(self) -> str:
        return f"{self.user} in {self.account} ({self.role})"

    @property
    def is_operator(self) -> bool:
        return self.role in {self.Role.OPERATOR, self.Role.ADMIN}

    @property
    def is_admin(self) -> bool:
        return self.role == self.Role.ADMIN


class ApiToken(models.Model):
    """A bearer token for the HTTP API. Only a SHA-256 hash of the token is stored;
    the token itself is shown once, when it is created."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=120, help_text="What the token is for, e.g. the script that uses it.")
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField(max_length=8, editable=False, help_text="The token's first characters.")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
