"""Installs the default catalog (six specialised agents, their templates and tools)
into an account. Idempotent: running it again updates what it created."""

from __future__ import annotations

from django.db import transaction

from accounts.models import Account
from agents.catalog.demo import DEMO_AGENTS
from agents.models import AgentInstance, AgentTemplate, Tool

AGENT_CONFIG_SCHEMA = {
    "type": "object",
    "properties": {
        "tone": {"enum": ["concise", "detailed"], "description": "How much the agent writes."},
        "max_knowledge_results": {"type": "integer", "minimum": 1, "maximum": 10},
    },
    "additionalProperties": False,
}
DEFAULT_CONFIG = {"tone": "concise", "max_knowledge_results": 3}

WORKFLOW_KINDS = {
    "consultant": AgentTemplate.WorkflowKind.ADVISORY,
    "solution_architect": AgentTemplate.WorkflowKind.BUILDER,
    "implementation": AgentTemplate.WorkflowKind.OPERATOR,
    "support": AgentTemplate.WorkflowKind.TROUBLESHOOTING,
    "sales": AgentTemplate.WorkflowKind.COMMERCIAL,
    "research": AgentTemplate.WorkflowKind.RESEARCH,
}

PRIORITIES = ["low", "medium", "high", "critical"]
TOOLS = [
    {
        "slug": "knowledge_search",
        "name": "Search the knowledge base",
        "description": "Find the passages of the account's knowledge articles that answer a question.",
        "handler": "knowledge_search",
        "args_schema": {
            "type": "object",
            "properties": {
                "query": {"type": "string", "minLength": 1},
                "limit": {"type": "integer", "minimum": 1, "maximum": 10},
            },
            "required": ["query"],
            "additionalProperties": False,
        },
        "input_type": "question",
        "output_type": "passages",
        "estimated_seconds": 0.2,
    },
    {
        "slug": "ticket_create",
        "name": "Create a ticket",
        "description": "Open a ticket in the account's queue.",
        "handler": "ticket_create",
        "args_schema": {
            "type": "object",
            "properties": {
                "title": {"type": "string", "minLength": 1, "maxLength": 200},
                "description": {"type": "string"},
                "priority": {"enum": PRIORITIES},
            },
            "required": ["title"],
            "additionalProperties": False,
        },
        "input_type": "ticket",
        "output_type": "ticket",
        "estimated_seconds": 0.3,
        "changes_records": True,
    },
    {
        "slug": "ticket_update",
        "name": "Update a ticket",
        "description": "Change the status or priority of one of the account's tickets.",
        "handler": "ticket_update",
        "args_schema": {
            "type": "object",
            "properties": {
                "number": {"type": "integer", "minimum": 1},
                "status": {"enum": ["open", "in_progress", "resolved", "closed"]},
                "priority": {"enum": PRIORITIES},
            },
            "required": ["number"],
            "additionalProperties": False,
        },
        "input_type": "ticket",
        "output_type": "ticket",
        "estimated_seconds": 0.3,
        "changes_records": True,
    },
    {
        "slug": "live_system_request",
        "name": "Call the live system",
        "description": "Send an HTTP request to the account's live system (its configured base URL).",
        "handler": "live_system_request",
        "args_schema": {
            "type": "object",
            "properties": {
                "method": {"enum": ["GET", "POST", "PUT", "PATCH", "DELETE"]},
                "path": {"type": "string", "minLength": 1},
                "body": {"type": "object"},
            },
            "required": ["method", "path"],
            "additionalProperties": False,
        },
        "input_type": "http_request",
        "output_type": "http_response",
        "estimated_seconds": 2.0,
        "acts_on_live_system": True,
    },
    {
        "slug": "delegate",
        "name": "Delegate to other agents",
        "description": (
            "Hand one sub-task, or several to run in parallel, to other agents of the account "
            "(by agent slug or by capability) and get their results back."
        ),
        "handler": "delegate",
        "args_schema": {
            "type": "object",
            "properties": {
                "tasks": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": 5,
                    "items": {
                        "type": "object",
                        "properties": {
                            "agent": {"type": "string"},
                            "capability": {"type": "string"},
                            "input": {"type": "string", "minLength": 1},
                        },
                        "required": ["input"],
                        "additionalProperties": False,
                    },
                }
            },
            "required": ["tasks"],
            "additionalProperties": False,
        },
        "input_type": "tasks",
        "output_type": "results",
        "estimated_seconds": 10.0,
    },
]

AGENT_TOOLS = {
    "consultant": ["knowledge_search", "delegate"],
    "solution_architect": ["knowledge_search", "delegate"],
    "implementation": ["knowledge_search", "ticket_create", "ticket_update", "live_system_request"],
    "support": ["knowledge_search", "ticket_create", "ticket_update"],
    "sales": ["knowledge_search"],
    "research": ["knowledge_search"],
}

# Everything but delegation: the legacy agent works alone (no routing, no hand-offs, no sub-agents).
LEGACY_AGENT_TOOLS = ["knowledge_search", "ticket_create", "ticket_update", "live_system_request"]


def tools_install() -> dict[str, Tool]:
    tools = {}
    for spec in TOOLS:
        spec = dict(spec)
        slug = spec.pop("slug")
        tools[slug], _ = Tool.objects.update_or_create(slug=slug, defaults=spec)
    return tools


@transaction.atomic
def catalog_install_demo(*, account: Account) -> list[AgentInstance]:
    tools = tools_install()
    agents = []
    for spec in DEMO_AGENTS:
        template, _ = AgentTemplate.objects.update_or_create(
            slug=spec["slug"],
            version="1",
            defaults={
                "name": spec["name"],
                "workflow_kind": WORKFLOW_KINDS[spec["slug"]],
                "description": spec["description"],
                "config_schema": AGENT_CONFIG_SCHEMA,
                "default_config": DEFAULT_CONFIG,
            },
        )
        agent, _ = AgentInstance.objects.update_or_create(
            account=account,
            slug=spec["slug"],
            defaults={
                "template": template,
                "name": spec["name"],
                "description": spec["description"],
                "system_prompt": spec["system_prompt"],
                "routing_examples": list(spec["routing_examples"]),
                "config": DEFAULT_CONFIG,
                "status": AgentInstance.Status.ACTIVE,
            },
        )
        agent.full_clean()
        agent.tools.set([tools[slug] for slug in AGENT_TOOLS[spec["slug"]]])
        agents.append(agent)
    for agent in agents:
        agent.handoff_targets.set([other for other in agents if other.pk != agent.pk])
    # The legacy arm's single agent gets the account's tools too, under the same permission gate,
    # so an A/B comparison measures routing and hand-offs, not who was allowed to act.
    legacy = AgentInstance.objects.filter(account=account, is_default=True).exclude(
        pk__in=[agent.pk for agent in agents]
    )
    for agent in legacy:
        agent.tools.set([tools[slug] for slug in LEGACY_AGENT_TOOLS])
    return agents
