"""Request and response shapes of the agents API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ninja import Field, Schema
from pydantic import ConfigDict

from agents.models import AgentInstance, AgentTemplate


class AgentTemplateOut(Schema):
    slug: str
    name: str
    workflow_kind: str
    version: str
    description: str
    config_schema: dict[str, Any]
    default_config: dict[str, Any]
    allowed_tiers: list[str]


class TemplateRef(Schema):
    slug: str
    version: str


class AgentIn(Schema):
    """The whole of an agent: POST creates it, PUT replaces it (omitted fields take their defaults)."""

    model_config = ConfigDict(extra="forbid")

    slug: str
    name: str
    template: str = Field(description="The template's slug.")
    template_version: str | None = Field(
        None,
        description="Omitted: the newest version on create; on update, the agent's current version "
        "if the template is unchanged, else the newest.",
    )
    description: str = ""
    model: str = ""
    system_prompt: str = ""
    config: dict[str, Any] | None = Field(None, description="Omitted: the template's default_config.")
    tools: list[str] = Field(default_factory=list, description="Tool slugs.")
    handoff_targets: list[str] = Field(
        default_factory=list, description="Slugs of agents of the same account."
    )
    routing_examples: list[str] = Field(default_factory=list)
    step_limit: int = 10
    status: AgentInstance.Status = AgentInstance.Status.ACTIVE


# Set on the request by the agents API: whether the caller is an admin of the agent's account.
SHOWS_INTERNALS = "agent_internals_visible"
ADMINS_ONLY = "Null unless the caller is an admin of the account: the agent's internals are theirs to see."


def _internals_visible(context: dict | None) -> bool:
    request = (context or {}).get("request")
    return bool(getattr(request, SHOWS_INTERNALS, False))


class AgentOut(Schema):
    """An agent. Its prompt, model, configuration, tool allowlist, hand-off targets and routing
    examples are shown to the account's admins only; for other members they are null."""

    slug: str
    name: str
    template: TemplateRef
    description: str
    model: str | None = Field(description=ADMINS_ONLY)
    system_prompt: str | None = Field(description=ADMINS_ONLY)
    config: Any = Field(description=ADMINS_ONLY)
    tools: list[str] | None = Field(description=ADMINS_ONLY)
    handoff_targets: list[str] | None = Field(description=ADMINS_ONLY)
    routing_examples: list[str] | None = Field(description=ADMINS_ONLY)
    step_limit: int
    status: str
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_template(obj: AgentInstance) -> dict[str, str]:
        template: AgentTemplate = obj.template
        return {"slug": template.slug, "version": template.version}

    @staticmethod
    def resolve_model(obj: AgentInstance, context: dict) -> str | None:
        return obj.model if _internals_visible(context) else None

    @staticmethod
    def resolve_system_prompt(obj: AgentInstance, context: dict) -> str | None:
        return obj.system_prompt if _internals_visible(context) else None

    @staticmethod
    def resolve_config(obj: AgentInstance, context: dict) -> Any:
        return obj.config if _internals_visible(context) else None

    @staticmethod
    def resolve_tools(obj: AgentInstance, context: dict) -> list[str] | None:
        return sorted(tool.slug for tool in obj.tools.all()) if _internals_visible(context) else None

    @staticmethod
    def resolve_handoff_targets(obj: AgentInstance, context: dict) -> list[str] | None:
        if not _internals_visible(context):
            return None
        return sorted(agent.slug for agent in obj.handoff_targets.all())

    @staticmethod
    def resolve_routing_examples(obj: AgentInstance, context: dict) -> list[str] | None:
        return obj.routing_examples if _internals_visible(context) else None
