"""Writes for agents and the knowledge base."""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from accounts.models import Account
from agents.mcp.selectors import tools_assignable
from agents.models import AgentInstance, AgentTemplate, KnowledgeArticle, RoutingEvaluation, Tool

if TYPE_CHECKING:
    from agents.routing.evaluation import EvalReport

DEMO_ARTICLES_DIR = Path(__file__).resolve().parent / "knowledge" / "demo"

GENERAL_ASSISTANT_PROMPT = (
    "You are the support assistant for this account. Answer from the account's knowledge "
    "base, cite the articles you used, and say plainly when you do not know."
)


def knowledge_article_parse(text: str) -> tuple[str, str, str]:
    """(title, tags, body) from a Markdown file: '# Title', 'tags: ...', then the body."""
    lines = text.strip().splitlines()
    if not lines or not lines[0].startswith("# "):
        raise ValueError("an article starts with '# Title'")
    title = lines[0][2:].strip()
    rest = lines[1:]
    tags = ""
    if rest and re.match(r"^tags:", rest[0], re.IGNORECASE):
        tags = rest[0].split(":", 1)[1].strip()
        rest = rest[1:]
    return title, tags, "\n".join(rest).strip()


def knowledge_articles_load(*, account: Account, directory: Path = DEMO_ARTICLES_DIR) -> int:
    """Create or update the account's articles from Markdown files; returns how many."""
    count = 0
    for path in sorted(directory.glob("*.md")):
        title, tags, body = knowledge_article_parse(path.read_text(encoding="utf-8"))
        KnowledgeArticle.objects.update_or_create(
            account=account, slug=path.stem, defaults={"title": title, "tags": tags, "body": body}
        )
        count += 1
    return count


def agent_ensure_default(*, account: Account) -> AgentInstance:
    """The account's general assistant: the one agent every account starts with."""
    template, _ = AgentTemplate.objects.update_or_create(
        slug="general-assistant",
        defaults={
            "name": "General assistant",
            "workflow_kind": AgentTemplate.WorkflowKind.CONVERSATIONAL,
            "version": "1",
            "description": "Answers any question from the account's knowledge base.",
        },
    )
    agent, _ = AgentInstance.objects.update_or_create(
        account=account,
        slug="assistant",
        defaults={
            "template": template,
            "name": "Assistant",
            "system_prompt": GENERAL_ASSISTANT_PROMPT,
            "status": AgentInstance.Status.ACTIVE,
            "is_default": True,
        },
    )
    return agent


# --- Agent instances (the API's writes) ---------------------------------------------------

AGENT_INSTANCE_FIELDS = (
    "slug", "name", "description", "model", "system_prompt",
    "routing_examples", "step_limit", "status",
)  # fmt: skip


def _version_key(version: str) -> tuple:
    """'10' sorts after '9', and '1.10' after '1.9'; anything else sorts as text, before numbers."""
    parts = version.split(".")
    if all(part.isdigit() for part in parts):
        return (1, tuple(int(part) for part in parts), "")
    return (0, (), version)


def agent_template_resolve(*, slug: str, version: str | None = None) -> AgentTemplate:
    """The template with ``slug`` at ``version``, or at its newest version when ``version`` is None."""
    templates = list(AgentTemplate.objects.filter(slug=slug))
    if version is not None:
        templates = [t for t in templates if t.version == version]
        if not templates:
            known = sorted({t.version for t in AgentTemplate.objects.filter(slug=slug)}, key=_version_key)
            if known:
                raise ValidationError(
                    {"template_version": f"Unknown version of {slug}; choose one of {', '.join(known)}."}
                )
    if not templates:
        raise ValidationError({"template": f"Unknown template: {slug}."})
    return max(templates, key=lambda t: _version_key(t.version))


def _agent_instance_apply(*, agent: AgentInstance, data: Mapping[str, Any]) -> tuple[list, list]:
    """Set ``agent``'s fields from ``data`` and validate everything, raising one ValidationError
    with every field's messages; returns the tools and hand-off targets to set once it is saved."""
    errors: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    for field in AGENT_INSTANCE_FIELDS:
        if field in data:
            setattr(agent, field, data[field])

    template_slug = data.get("template")
    version = data.get("template_version")
    if template_slug is None:
        add("template", "This field is required.")
    else:
        if version is None and agent.template_id is not None and agent.template.slug == template_slug:
            version = agent.template.version  # an update keeps its version unless asked otherwise
        try:
            agent.template = agent_template_resolve(slug=template_slug, version=version)
        except ValidationError as error:
            agent.template_id = None  # so that clean() does not check the config against the old one
            for field, messages in error.message_dict.items():
                errors.setdefault(field, []).extend(messages)

    config = data.get("config")
    if config is None:  # omitted: the template's defaults
        config = copy.deepcopy(agent.template.default_config) if agent.template_id is not None else {}
    agent.config = config

    tool_slugs = list(dict.fromkeys(data.get("tools") or []))
    # Built-in tools and those of MCP servers the account may use: another account's are unknown.
    tools = list(tools_assignable(account_id=agent.account_id).filter(slug__in=tool_slugs))
    unknown = [slug for slug in tool_slugs if slug not in {tool.slug for tool in tools}]
    if unknown:
        add("tools", f"Unknown tool: {', '.join(unknown)}.")

    target_slugs = list(dict.fromkeys(data.get("handoff_targets") or []))
    # Looked up in the agent's own account only: another account's agents are "unknown".
    targets = list(AgentInstance.objects.filter(account_id=agent.account_id, slug__in=target_slugs))
    found = {target.slug for target in targets}
    # Itself by its new slug, or (when the update renames it) by its current one.
    if agent.slug in target_slugs or (agent.pk is not None and any(t.pk == agent.pk for t in targets)):
        add("handoff_targets", "An agent cannot hand off to itself.")
    unknown = [slug for slug in target_slugs if slug not in found and slug != agent.slug]
    if unknown:
        add("handoff_targets", f"No agent of this account has the slug: {', '.join(unknown)}.")

    slug_taken = (
        AgentInstance.objects.filter(account_id=agent.account_id, slug=agent.slug)
        .exclude(pk=agent.pk)
        .exists()
    )
    if slug_taken:
        add("slug", "This account already has an agent with this slug.")

    # clean() needs a template; without one only the fields are checked. The slug check above
    # stands in for the (account, slug) constraint, which would report under "__all__".
    exclude = ["template"] if agent.template_id is None else None
    try:
        agent.full_clean(exclude=exclude, validate_constraints=not slug_taken)
    except ValidationError as error:
        for field, messages in error.message_dict.items():
            errors.setdefault(field, []).extend(messages)
    if errors:
        raise ValidationError(errors)
    return tools, targets


def _agent_instance_save(*, agent: AgentInstance, tools: list[Tool], targets: list[AgentInstance]) -> None:
    try:
        with transaction.atomic():
            agent.save()
    except IntegrityError as error:
        # Another request took the slug between the check and the save.
        raise ValidationError({"slug": "This account already has an agent with this slug."}) from error
    agent.tools.set(tools)
    agent.handoff_targets.set(targets)


@transaction.atomic
def agent_instance_create(*, account: Account, data: Mapping[str, Any]) -> AgentInstance:
    """Create an agent of ``account``. ``data`` has the model's fields, with the template, tools
    and hand-off targets given by slug (a missing config is the template's default_config).
    Raises ValidationError with per-field messages."""
    agent = AgentInstance(account=account)
    tools, targets = _agent_instance_apply(agent=agent, data=data)
    _agent_instance_save(agent=agent, tools=tools, targets=targets)
    return agent


@transaction.atomic
def agent_instance_update(*, agent: AgentInstance, data: Mapping[str, Any]) -> AgentInstance:
    """Replace ``agent``'s configuration with ``data`` (as for :func:`agent_instance_create`)."""
    tools, targets = _agent_instance_apply(agent=agent, data=data)
    _agent_instance_save(agent=agent, tools=tools, targets=targets)
    return agent


def agent_instance_delete(*, agent: AgentInstance) -> None:
    agent.delete()


def routing_evaluation_record(*, account: Account, dataset: str, report: EvalReport) -> RoutingEvaluation:
    """Keep an evaluation's result, so gates and analytics read the latest measured accuracy."""
    return RoutingEvaluation.objects.create(
        account=account,
        dataset=dataset[:300],
        total=report.total,
        correct=report.correct,
        accuracy=report.accuracy,
        per_agent=[
            {"agent": s.agent, "precision": s.precision, "recall": s.recall, "support": s.support}
            for s in report.per_agent
        ],
    )
