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


class AgentOut(Schema):
    slug: str
    name: str
    template: TemplateRef
    description: str
    model: str
    system_prompt: str
    config: Any
    tools: list[str]
    handoff_targets: list[str]
    routing_examples: list[str]
    step_limit: int
    status: str
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_template(obj: AgentInstance) -> dict[str, str]:
        template: AgentTemplate = obj.template
        return {"slug": template.slug, "version": template.version}

    @staticmethod
    def resolve_tools(obj: AgentInstance) -> list[str]:
        return sorted(tool.slug for tool in obj.tools.all())

    @staticmethod
    def resolve_handoff_targets(obj: AgentInstance) -> list[str]:
        return sorted(agent.slug for agent in obj.handoff_targets.all())
