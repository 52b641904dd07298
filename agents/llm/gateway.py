"""The one place the product calls a model.

Streaming through litellm with a timeout, retries, and fallbacks to other models;
records tokens, cost and latency for every reply. Callers iterate a ``ChatStream``
for text and read its ``result`` when the iteration ends.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import litellm
from django.conf import settings

from agents.llm.providers import OFFLINE_PROVIDER, SCRIPTED_PROVIDER

logger = logging.getLogger(__name__)


class LLMError(Exception):
    """A model call failed; the message is safe to show to the user."""


@dataclass
class StreamResult:
    model: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    first_token_ms: int | None = None
    latency_ms: int = 0
    attempts: list[str] = field(default_factory=list)


def default_model() -> str:
    return settings.LLM_MODEL


def uses_offline_model() -> bool:
    return any(m.split("/", 1)[0] == OFFLINE_PROVIDER for m in models_to_try(None))


def models_to_try(model: str | None) -> list[str]:
    primary = model or default_model()
    return [primary, *(m for m in settings.LLM_FALLBACK_MODELS if m != primary)]


def _call_options(model: str) -> dict:
    options: dict = {"timeout": settings.LLM_TIMEOUT_SECONDS, "num_retries": settings.LLM_NUM_RETRIES}
    # LLM_API_BASE / LLM_API_KEY configure the primary hosted model (an Ollama or
    # OpenAI-compatible server, say); fallbacks use the provider's own variables.
    if model == default_model():
        if settings.LLM_API_BASE:
            options["api_base"] = settings.LLM_API_BASE
        if settings.LLM_API_KEY:
            options["api_key"] = settings.LLM_API_KEY
    return options


def _cost(model: str, prompt_tokens: int, completion_tokens: int) -> float:
    try:
        prompt_cost, completion_cost = litellm.cost_per_token(
            model=model, prompt_tokens=prompt_tokens, completion_tokens=completion_tokens
        )
    except Exception:  # litellm raises for models missing from its price list
        return 0.0
    return float(prompt_cost + completion_cost)


class ChatStream:
    """Iterate for text deltas; ``result`` is complete once iteration ends."""

    def __init__(
        self,
        *,
        messages: list[dict],
        account_id: int,
        model: str | None = None,
        tools: list[dict] | None = None,
        metadata: dict | None = None,
    ):
        self.messages = messages
        self.account_id = account_id
        self.candidates = models_to_try(model)
        self.tools = tools or None
        self.metadata = {**(metadata or {}), "account_id": account_id}
        self.result = StreamResult()
        # Filled as the stream ends: [{"id", "name", "arguments" (JSON text)}].
        self.tool_calls: list[dict] = []

    def __iter__(self) -> Iterator[str]:
        started = time.monotonic()
        errors: list[str] = []
        for model in self.candidates:
            self.result.attempts.append(model)
            produced_text = False
            try:
                for text in self._stream_one(model, started):
                    produced_text = True
                    yield text
            except Exception as exc:
                logger.warning("model %s failed: %s", model, exc)
                if produced_text:
                    # Half an answer from one model and half from another is worse than an error.
                    raise LLMError(f"{model} stopped mid-answer: {_short(exc)}") from exc
                errors.append(f"{model}: {_short(exc)}")
                continue
            self.result.latency_ms = int((time.monotonic() - started) * 1000)
            return
        raise LLMError("No model could answer. " + "; ".join(errors))

    def _stream_one(self, model: str, started: float) -> Iterator[str]:
        extra = {"tools": self.tools} if self.tools else {}
        response = litellm.completion(
            model=model,
            messages=self.messages,
            stream=True,
            stream_options={"include_usage": True},
            metadata=self.metadata,
            **extra,
            **_call_options(model),
        )
        completion_parts: list[str] = []
        calls: dict[int, dict] = {}
        usage = None
        for part in response:
            if getattr(part, "usage", None):
                usage = part.usage
            if not part.choices:
                continue
            delta = part.choices[0].delta
            for call in getattr(delta, "tool_calls", None) or []:
                # Providers send a call's id and name first, then its arguments in pieces.
                entry = calls.setdefault(call.index or 0, {"id": "", "name": "", "arguments": ""})
                entry["id"] = call.id or entry["id"]
                if call.function is not None:
                    entry["name"] = call.function.name or entry["name"]
                    entry["arguments"] += call.function.arguments or ""
            text = delta.content
            if text:
                if self.result.first_token_ms is None:
                    self.result.first_token_ms = int((time.monotonic() - started) * 1000)
                completion_parts.append(text)
                yield text
        self.result.model = model
        self.tool_calls = [calls[i] for i in sorted(calls)]
        if usage is not None:
            self.result.prompt_tokens = usage.prompt_tokens or 0
            self.result.completion_tokens = usage.completion_tokens or 0
        else:
            self.result.prompt_tokens = litellm.token_counter(model=model, messages=self.messages)
            self.result.completion_tokens = litellm.token_counter(model=model, text="".join(completion_parts))
        self.result.cost_usd = _cost(model, self.result.prompt_tokens, self.result.completion_tokens)


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:300]


@dataclass(frozen=True)
class ModelHealth:
    model: str
    ok: bool
    detail: str


def model_health() -> ModelHealth:
    """Whether the configured model can be called, without spending a call on it."""
    model = default_model()
    provider = model.split("/", 1)[0]
    if provider == OFFLINE_PROVIDER:
        from agents.knowledge.embeddings import model_available

        ok = model_available()
        return ModelHealth(model, ok, "offline model files present" if ok else "MiniLM model files missing")
    if provider == SCRIPTED_PROVIDER:
        return ModelHealth(model, True, "scripted test model")
    if settings.LLM_API_BASE or settings.LLM_API_KEY:
        return ModelHealth(model, True, "api base or key configured")
    check = litellm.validate_environment(model=model)
    if check.get("keys_in_environment"):
        return ModelHealth(model, True, "provider key present")
    missing = ", ".join(check.get("missing_keys") or []) or "provider credentials"
    return ModelHealth(model, False, f"missing {missing}")
