"""Writes for agents and the knowledge base."""

from __future__ import annotations

import re
from pathlib import Path

from accounts.models import Account
from agents.models import AgentInstance, AgentTemplate, KnowledgeArticle

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
