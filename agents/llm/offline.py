"""The default model when no provider is configured: it answers only from the
account's knowledge base, and says so plainly when nothing there is relevant."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

from django.conf import settings
from litellm import CustomLLM
from litellm.types.utils import GenericStreamingChunk, ModelResponse

from agents.llm.streaming import chunk, final_chunk, last_user_text, rough_token_count


class OfflineModelError(RuntimeError):
    pass


def _account_id(kwargs: dict) -> int:
    metadata = (kwargs.get("litellm_params") or {}).get("metadata") or {}
    account_id = metadata.get("account_id")
    if account_id is None:
        raise OfflineModelError("the offline model needs metadata.account_id to find a knowledge base")
    return int(account_id)


def answer(messages: list[dict], account_id: int) -> str:
    from agents.knowledge.retrieval import compose_answer, search

    query = last_user_text(messages)
    return compose_answer(query=query, hits=search(account_id=account_id, query=query))


class OfflineKnowledgeModel(CustomLLM):
    def streaming(self, model, messages, *args, **kwargs) -> Iterator[GenericStreamingChunk]:
        text = answer(messages, _account_id(kwargs))
        delay = settings.OFFLINE_MODEL_WORD_DELAY_SECONDS
        # Word by word (keeping whitespace) so the answer streams like a generative model's.
        for piece in re.findall(r"\S+\s*|\s+", text):
            if delay:
                time.sleep(delay)
            yield chunk(piece)
        yield final_chunk(
            prompt_tokens=sum(rough_token_count(str(m.get("content", ""))) for m in messages),
            completion_tokens=rough_token_count(text),
        )

    def completion(self, model, messages, *args, model_response: ModelResponse, **kwargs):
        model_response.choices[0].message.content = answer(messages, _account_id(kwargs))  # type: ignore[union-attr]
        return model_response
