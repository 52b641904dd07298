"""Where accepting a suggestion leads: the edit that carries it out, prefilled.

- an article: the knowledge article form (Django admin, where articles are edited), with a title,
  a slug and a draft body that lists the questions it has to answer;
- routing examples: the agent's edit page, its routing examples extended with the questions;
- a learned pattern: its row on the patterns page, where an admin rewords or retires it."""

from __future__ import annotations

import json
from urllib.parse import urlencode

from django.urls import reverse
from django.utils.text import slugify

from analytics.suggestions.models import Suggestion

MAX_QUESTIONS_IN_DRAFT = 12
MAX_ROUTING_EXAMPLES_ADDED = 10
ROUTING_PREFILL_PARAMETER = "add_routing_examples"  # read by the agent admin (agents/admin.py)


def distinct_questions(suggestion: Suggestion, limit: int) -> list[str]:
    """The suggestion's questions, newest first, each once (case and spacing aside)."""
    seen, questions = set(), []
    for item in suggestion.evidence:
        text = " ".join(item["question"].split())
        if text.lower() not in seen:
            seen.add(text.lower())
            questions.append(text)
        if len(questions) >= limit:
            break
    return questions


def article_draft(suggestion: Suggestion) -> dict[str, str]:
    questions = distinct_questions(suggestion, MAX_QUESTIONS_IN_DRAFT)
    title = suggestion.topic[:1].upper() + suggestion.topic[1:]
    asked = "\n".join(f"- {q}" for q in questions)
    body = (
        f"Write the answer here, then delete the list below.\n\n"
        f"Questions this article should answer ({suggestion.evidence_count} asked in the last 30 days):"
        f"\n\n{asked}\n"
    )
    return {"title": title[:200], "slug": slugify(suggestion.topic)[:100], "tags": "suggested", "body": body}


def edit_url(suggestion: Suggestion) -> str:
    if suggestion.kind in (Suggestion.Kind.ARTICLE, Suggestion.Kind.SCOPE):
        query = {"account": suggestion.account_id, **article_draft(suggestion)}
        return f"{reverse('admin:agents_knowledgearticle_add')}?{urlencode(query)}"
    if suggestion.kind == Suggestion.Kind.ROUTING:
        known = {" ".join(e.split()).lower() for e in suggestion.agent.routing_examples}
        new = [
            q
            for q in distinct_questions(suggestion, MAX_ROUTING_EXAMPLES_ADDED * 3)
            if q.lower() not in known
        ][:MAX_ROUTING_EXAMPLES_ADDED]
        page = reverse("admin:agents_agentinstance_change", args=[suggestion.agent_id])
        return f"{page}?{urlencode({ROUTING_PREFILL_PARAMETER: json.dumps(new)})}"
    return f"{reverse('escalations:patterns')}#pattern-{suggestion.pattern_id}"
