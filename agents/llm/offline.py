"""The default model when no provider is configured.

It answers only from the account's knowledge base and says so plainly when
nothing there is relevant. Given tools, it follows a fixed, deterministic policy
so that the offline demo really uses them: an action request becomes a ticket (or
a live-system call when the account has one), a question becomes a knowledge
search, and a tool result becomes the answer.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator

from django.conf import settings
from litellm import CustomLLM
from litellm.types.utils import GenericStreamingChunk, ModelResponse

from agents.llm.streaming import chunk, final_chunk, last_user_text, rough_token_count, tool_call_chunk

# A request to act puts the verb where a request puts it: first in a sentence ("Open a ticket for
# the VPN outage"), or after "please", "can you", "I need you to", ...; "go ahead" confirms. The
# same verb elsewhere is not a request: "since the update the app logs me out" reports a problem.
_ACT_VERBS = (
    r"create|open|raise|log|file|submit|update|close|reopen|apply|deploy|run|execute|enable|disable|"
    r"activate|deactivate|delete|remove|add|import|provision|reset|restart"
)
ACTION_REQUEST = re.compile(
    r"(?:^|[.!?;]\s+|\b(?:please|pls|kindly|can you|could you|would you|will you|"
    r"i need you to|i'd like you to|i want you to|go ahead and)\s+)"
    rf"(?:please\s+)?(?:{_ACT_VERBS})\b"
    r"|\bgo ahead\b",
    re.IGNORECASE,
)

# "How do I reset my password?" asks how, it does not ask us to act; "Can you reset it?" does.
QUESTION = re.compile(
    r"^\W*(?:how|what|why|when|where|who|which|is|are|does|do (?:i|we)|can (?:i|we)|should|"
    r"would it|is it)\b",
    re.IGNORECASE,
)


class OfflineModelError(RuntimeError):
    pass


def _metadata(kwargs: dict) -> dict:
    return (kwargs.get("litellm_params") or {}).get("metadata") or {}


def _account_id(kwargs: dict) -> int:
    account_id = _metadata(kwargs).get("account_id")
    if account_id is None:
        raise OfflineModelError("the offline model needs metadata.account_id to find a knowledge base")
    return int(account_id)


def _tool_names(kwargs: dict) -> set[str]:
    tools = (kwargs.get("optional_params") or {}).get("tools") or []
    return {t.get("function", {}).get("name", "") for t in tools}


def answer(messages: list[dict], account_id: int, agent_slug: str | None = None) -> str:
    from agents.knowledge.retrieval import compose_answer, search

    query = last_user_text(messages)
    # An agent's answer reads only the collections that agent may read.
    return compose_answer(query=query, hits=search(account_id=account_id, query=query, agent_slug=agent_slug))


def answer_from_tool_result(messages: list[dict], account_id: int) -> str:
    from agents.knowledge.retrieval import compose_answer_from_results

    result = json.loads(messages[-1].get("content") or "{}")
    if isinstance(result, dict) and result.get("error"):
        return f"I couldn't complete that: {result['error']}"
    if isinstance(result, dict) and "results" in result:
        return compose_answer_from_results(result["results"])
    if isinstance(result, dict) and "ticket" in result:
        ticket = result["ticket"]
        verb = "created" if result.get("created", True) else "updated"
        return (
            f"Done: I {verb} ticket #{ticket['number']} “{ticket['title']}” "
            f"(status {ticket['status']}, priority {ticket['priority']})."
        )
    if isinstance(result, dict) and "status_code" in result:
        body = json.dumps(result["body"], indent=2)[:1500]
        return f"The live system answered HTTP {result['status_code']}:\n\n```\n{body}\n```"
    return "Done."


def _has_live_system(account_id: int) -> bool:
    from agents.models import LiveSystemConnection

    return LiveSystemConnection.objects.filter(account_id=account_id).exists()


def next_tool_call(messages: list[dict], account_id: int, tools: set[str]) -> tuple[str, dict] | None:
    """The deterministic policy: which tool, if any, the agent calls for this message."""
    text = last_user_text(messages)
    if ACTION_REQUEST.search(text) and not QUESTION.match(text):
        if "live_system_request" in tools and _has_live_system(account_id):
            return "live_system_request", {"method": "POST", "path": "/actions", "body": {"request": text}}
        if "ticket_create" in tools:
            priority = (
                "high" if re.search(r"\b(urgent|asap|critical|outage|down)\b", text, re.I) else "medium"
            )
            return "ticket_create", {"title": text[:120], "description": text, "priority": priority}
    if "knowledge_search" in tools:
        return "knowledge_search", {"query": text}
    return None


class OfflineKnowledgeModel(CustomLLM):
    def streaming(self, model, messages, *args, **kwargs) -> Iterator[GenericStreamingChunk]:
        account_id = _account_id(kwargs)
        prompt_tokens = sum(rough_token_count(str(m.get("content") or "")) for m in messages)
        tools = _tool_names(kwargs)
        if messages and messages[-1].get("role") == "tool":
            text = answer_from_tool_result(messages, account_id)
        elif tools and (call := next_tool_call(messages, account_id, tools)) is not None:
            yield tool_call_chunk(*call)
            yield final_chunk(prompt_tokens=prompt_tokens, completion_tokens=1)
            return
        else:
            text = answer(messages, account_id, _metadata(kwargs).get("agent") or None)
        delay = settings.OFFLINE_MODEL_WORD_DELAY_SECONDS
        # Word by word (keeping whitespace) so the answer streams like a generative model's.
        for piece in re.findall(r"\S+\s*|\s+", text):
            if delay:
                time.sleep(delay)
            yield chunk(piece)
        yield final_chunk(prompt_tokens=prompt_tokens, completion_tokens=rough_token_count(text))

    def completion(self, model, messages, *args, model_response: ModelResponse, **kwargs):
        model_response.choices[0].message.content = answer(  # type: ignore[union-attr]
            messages, _account_id(kwargs), _metadata(kwargs).get("agent") or None
        )
        return model_response
