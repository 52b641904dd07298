"""A deterministic model for tests and benchmarks, registered with litellm.

It answers from directives in the last user message so that a test running in
another process (a Celery worker) controls it through the product's own input:

- ``count=N``: reply with the words ``w1 w2 ... wN`` as N chunks;
- ``delay=S``: sleep S seconds before each chunk (default 0);
- ``fail=K``: raise after K chunks (``fail=0`` fails before the first token);
- ``stamp``: each chunk is ``<index>@<unix time>;`` so a client can measure latency;
- anything else: echo ``You said: <message>`` word by word.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

from litellm import CustomLLM
from litellm.types.utils import GenericStreamingChunk, ModelResponse

from agents.llm.streaming import chunk, final_chunk, last_user_text, rough_token_count

DIRECTIVE = re.compile(r"\b(count|delay|fail)=([0-9.]+)")


class ScriptedModelError(RuntimeError):
    pass


def scripted_chunks(prompt: str) -> Iterator[str]:
    directives = {key: float(value) for key, value in DIRECTIVE.findall(prompt)}
    delay = directives.get("delay", 0.0)
    fail_after = int(directives["fail"]) if "fail" in directives else None
    if "stamp" in prompt.split():
        count = int(directives.get("count", 20))
        pieces: Iterator[str] | list[str] = (f"{i}@{{stamp}};" for i in range(1, count + 1))
    elif "count" in directives:
        count = int(directives["count"])
        pieces = [f"w{i}" + (" " if i < count else "") for i in range(1, count + 1)]
    else:
        words = f"You said: {prompt}".split(" ")
        pieces = [w + (" " if i < len(words) - 1 else "") for i, w in enumerate(words)]
    for index, piece in enumerate(pieces):
        if fail_after is not None and index >= fail_after:
            raise ScriptedModelError(f"scripted failure after {index} chunks")
        if delay:
            time.sleep(delay)
        yield piece.replace("{stamp}", f"{time.time():.6f}")


class ScriptedModel(CustomLLM):
    def streaming(self, model, messages, *args, **kwargs) -> Iterator[GenericStreamingChunk]:
        prompt = last_user_text(messages)
        produced = 0
        for piece in scripted_chunks(prompt):
            produced += rough_token_count(piece)
            yield chunk(piece)
        yield final_chunk(prompt_tokens=rough_token_count(prompt), completion_tokens=produced)

    def completion(self, model, messages, *args, model_response: ModelResponse, **kwargs):
        text = "".join(scripted_chunks(last_user_text(messages)))
        model_response.choices[0].message.content = text  # type: ignore[union-attr]
        return model_response
