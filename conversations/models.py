import uuid

from django.conf import settings
from django.db import models

from accounts.models import Account
from agents.models import AgentInstance
from durable.models import LeasedWork
from rollout.arms import Arm
from rollout.models import Flag


class ConversationQuerySet(models.QuerySet):
    def visible(self) -> "ConversationQuerySet":
        """A person's chats: shadow and evaluation runs are hidden from every list and socket."""
        return self.filter(purpose=Conversation.Purpose.CHAT)

    def hidden(self) -> "ConversationQuerySet":
        """Shadow and evaluation runs: anything but a chat, so an unknown purpose fails closed."""
        return self.exclude(purpose=Conversation.Purpose.CHAT)


class Conversation(models.Model):
    # Which system served the conversation, decided by the rollout flag when it starts.
    Arm = Arm

    class Purpose(models.TextChoices):
        # Only a chat is a person's conversation. A shadow (the rollout's background answer) or an
        # evaluation run is hidden: nobody sees it, so its gated tools are simulated, never run.
        CHAT = "chat", "Chat"
        SHADOW = "shadow", "Shadow run (hidden)"
        EVALUATION = "evaluation", "Evaluation run (hidden)"

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="conversations")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="conversations")
    title = models.CharField(max_length=200, blank=True)
    agent = models.ForeignKey(
        AgentInstance, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    routed = models.BooleanField(
        default=True, help_text="Off for a conversation with one chosen agent: no router, no hand-offs."
    )
    arm = models.CharField(max_length=20, choices=Arm.choices, default=Arm.MULTI_AGENT)
    purpose = models.CharField(max_length=20, choices=Purpose.choices, default=Purpose.CHAT)
    # Deleted by its user: gone from their list, chat and socket, but kept so the figures
    # analytics already counted (turns, hand-offs, cost) do not change under anyone.
    deleted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ConversationQuerySet.as_manager()

    class Meta:
        ordering = ["-updated_at"]
        indexes = [models.Index(fields=["account", "user", "-updated_at"])]

    def __str__(self) -> str:
        return self.title or f"Conversation {self.pk}"

    @property
    def is_hidden(self) -> bool:
        """Anything but a chat counts as hidden, so an unknown purpose fails closed."""
        return self.purpose != self.Purpose.CHAT


class Message(LeasedWork):
    class Role(models.TextChoices):
        USER = "user", "User"
        ASSISTANT = "assistant", "Assistant"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        STREAMING = "streaming", "Streaming"
        AWAITING_APPROVAL = "awaiting_approval", "Awaiting approval"
        COMPLETE = "complete", "Complete"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"
        # Double texting (conversations.double_texting): a reply waiting for the one before it,
        # a reply stopped by a newer message (its text so far kept), and a reply or question
        # taken back by a newer message (kept for the audit of what already ran, never shown).
        QUEUED = "queued", "Queued behind the reply before it"
        INTERRUPTED = "interrupted", "Interrupted by a newer message"
        DISCARDED = "discarded", "Discarded by a newer message"

    class Feedback(models.TextChoices):
        UP = "up", "Thumbs up"
        DOWN = "down", "Thumbs down"

    IN_FLIGHT = (Status.PENDING, Status.STREAMING, Status.AWAITING_APPROVAL, Status.QUEUED)
    # Being answered now: at most one per conversation; queued replies wait behind it.
    RUNNING = (Status.PENDING, Status.STREAMING, Status.AWAITING_APPROVAL)

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    role = models.CharField(max_length=20, choices=Role.choices)
    content = models.TextField(blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.COMPLETE)
    error = models.TextField(blank=True, help_text="Why the reply failed, in words for the user.")
    agent = models.ForeignKey(
        AgentInstance, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    model = models.CharField(max_length=200, blank=True, help_text="The model that answered.")
    # Set on an assistant-side message written by a person (an operator answering an
    # escalation) rather than by an agent.
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    feedback = models.CharField(max_length=10, choices=Feedback.choices, blank=True)
    feedback_at = models.DateTimeField(null=True, blank=True)
    # An assistant message is the reply to one user message. Regenerating writes another
    # variant of the same reply (one row per (reply_to, variant), so a redelivered task finds its
    # row instead of writing a second one); the current variant is shown and is what later turns'
    # model history reads.
    reply_to = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="replies"
    )
    variant = models.PositiveSmallIntegerField(
        default=1, help_text="1 for the first reply, 2 after one regenerate..."
    )
    is_current = models.BooleanField(
        default=True, help_text="The variant shown for its question, and read by later turns."
    )
    frames = models.PositiveIntegerField(default=0, help_text="Stream frames published.")
    # attempts and lease_expires_at come from LeasedWork: a reply is durable work.
    interruptions = models.PositiveSmallIntegerField(
        default=0, help_text="Times a worker died while writing this reply."
    )
    cancel_requested = models.BooleanField(default=False)
    prompt_tokens = models.PositiveIntegerField(null=True, blank=True)
    completion_tokens = models.PositiveIntegerField(null=True, blank=True)
    cost_usd = models.DecimalField(max_digits=12, decimal_places=6, null=True, blank=True)
    first_token_ms = models.PositiveIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["conversation", "created_at"]),
            models.Index(fields=["status", "lease_expires_at"]),
        ]
        constraints = [
            models.UniqueConstraint(fields=["reply_to", "variant"], name="one_reply_per_variant"),
        ]

    def __str__(self) -> str:
        return f"{self.role} #{self.pk} ({self.status})"

    @property
    def is_in_flight(self) -> bool:
        return self.status in self.IN_FLIGHT


class Turn(models.Model):
    """One user message being answered by the agent graph, with its checkpoint.

    ``state`` is rewritten after every step (route, agent step, tool call, hand-off),
    so a worker that dies resumes from the last completed step.
    """

    reply = models.OneToOneField(Message, on_delete=models.CASCADE, related_name="turn")
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="turns")
    state = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Turn for message {self.reply_id}"


class Handoff(models.Model):
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="handoffs")
    turn = models.ForeignKey(Turn, on_delete=models.CASCADE, related_name="handoffs")
    from_agent = models.ForeignKey(
        AgentInstance, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    to_agent = models.ForeignKey(AgentInstance, null=True, on_delete=models.SET_NULL, related_name="+")
    reason = models.TextField()
    via = models.CharField(max_length=20, help_text="'tool' (transfer_to_*) or 'router'.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.from_agent} -> {self.to_agent}: {self.reason}"


class ToolCall(models.Model):
    class Status(models.TextChoices):
        AWAITING_APPROVAL = "awaiting_approval", "Awaiting approval"
        DENIED = "denied", "Denied"
        REFUSED = "refused", "Refused (not allowed)"
        RUNNING = "running", "Running"
        COMPLETED = "completed", "Completed"
        FAILED = "failed", "Failed"
        # A gated call in a hidden run: recorded as intended, never executed, never approved.
        SIMULATED = "simulated", "Not run (hidden run)"
        # A call to another system whose worker died (or whose answer never came) while it ran:
        # it may or may not have acted. The turn waits until the owner says which (``resolution``).
        UNCERTAIN = "uncertain", "May or may not have run"

    class Resolution(models.TextChoices):
        NONE = "", "Not resolved"
        RAN = "ran", "It ran"
        RUN_AGAIN = "run_again", "Run it again"

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="tool_calls")
    turn = models.ForeignKey(Turn, on_delete=models.CASCADE, related_name="tool_calls")
    agent = models.ForeignKey(AgentInstance, null=True, on_delete=models.SET_NULL, related_name="+")
    tool_slug = models.CharField(max_length=60)
    arguments = models.JSONField(default=dict)
    # Step and position in the turn: the same call after a crash gets the same key,
    # so it is looked up instead of being run a second time.
    idempotency_key = models.CharField(max_length=100, unique=True)
    status = models.CharField(max_length=20, choices=Status.choices)
    result = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    # How the owner settled an uncertain call: it did run (the turn goes on without calling
    # again) or run it again (deliberately, with the same idempotency key).
    resolution = models.CharField(max_length=20, choices=Resolution.choices, blank=True, default="")
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.tool_slug} ({self.status})"


class Approval(models.Model):
    """The decision of the conversation's owner on one gated tool call. It can be decided
    once, only by that user, and only approves the call it belongs to."""

    class Decision(models.TextChoices):
        PENDING = "pending", "Pending"
        APPROVED = "approved", "Approved"
        DENIED = "denied", "Denied"

    # The id in URLs and the API: unguessable, unlike the sequential primary key.
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    tool_call = models.OneToOneField(ToolCall, on_delete=models.CASCADE, related_name="approval")
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="approvals")
    decision = models.CharField(max_length=20, choices=Decision.choices, default=Decision.PENDING)
    allow_for_conversation = models.BooleanField(default=False)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"Approval of {self.tool_call} ({self.decision})"


class ToolGrant(models.Model):
    """'Allow for this conversation': later calls of the tool here skip the approval card."""

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="tool_grants")
    tool_slug = models.CharField(max_length=60)
    approval = models.ForeignKey(Approval, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["conversation", "tool_slug"], name="unique_tool_grant"),
        ]

    def __str__(self) -> str:
        return f"{self.tool_slug} allowed in conversation {self.conversation_id}"


class GuardrailEvent(models.Model):
    class Kind(models.TextChoices):
        STEP_LIMIT = "step_limit", "Step limit reached"
        PING_PONG = "ping_pong", "Ping-pong hand-off"
        REPEATED_EDGE = "repeated_edge", "Repeated hand-off"
        TOOL_REFUSED = "tool_refused", "Tool not allowed"
        HANDOFF_REFUSED = "handoff_refused", "Hand-off not allowed"

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="guardrail_events")
    turn = models.ForeignKey(Turn, on_delete=models.CASCADE, related_name="guardrail_events")
    agent = models.ForeignKey(AgentInstance, null=True, on_delete=models.SET_NULL, related_name="+")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    detail = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.kind}: {self.detail}"


class ShadowConversation(models.Model):
    """A hidden conversation in which the multi-agent system answers, in the background,
    the messages of a conversation that the legacy agent serves. Never listed or opened
    by the user, and never published to their conversation's socket group."""

    conversation = models.OneToOneField(Conversation, on_delete=models.CASCADE, related_name="rollout_shadow")
    served = models.OneToOneField(Conversation, on_delete=models.CASCADE, related_name="rollout_shadowed_by")
    flag = models.ForeignKey(Flag, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        # Rollout owned this model until conversations took it over; the rows stay in the
        # table rollout created, so the move needed no copy (migrations rollout 0002 and
        # conversations 0008 only move it in Django's state).
        db_table = "rollout_shadowconversation"

    def __str__(self) -> str:
        return f"Shadow of conversation {self.served_id}"


class ShadowPair(models.Model):
    """One user message answered twice: the legacy reply served, and the multi-agent reply
    written in the shadow. Status, agent, latency and cost are those of each reply."""

    shadow = models.ForeignKey(ShadowConversation, on_delete=models.CASCADE, related_name="pairs")
    question = models.OneToOneField(Message, on_delete=models.CASCADE, related_name="+")
    legacy_reply = models.OneToOneField(Message, on_delete=models.CASCADE, related_name="+")
    shadow_reply = models.OneToOneField(Message, on_delete=models.CASCADE, related_name="rollout_shadow_pair")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        db_table = "rollout_shadowpair"  # kept from rollout, as for ShadowConversation

    def __str__(self) -> str:
        return f"Shadow pair for message {self.question_id}"
