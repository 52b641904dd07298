"""The two systems a rollout flag chooses between. Conversations record the arm that served them."""

from __future__ import annotations

from django.db import models


class Arm(models.TextChoices):
    LEGACY = "legacy", "Legacy single agent"
    MULTI_AGENT = "multi_agent", "Multi-agent system"
