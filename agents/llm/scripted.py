"""A deterministic model for tests and benchmarks, registered with litellm.

It answers from directives in the last user message so that a test running in
another process (a Celery worker) controls it through the product's own input:

- ``count=N``: reply with the words ``w1 w2 ... wN`` as N chunks;
- ``delay=S``: sleep S seconds before each chunk (default 0);
- ``fail=K``: raise after K chunks (``fail=0`` fails before the first token);
- ``stamp``: each chunk is ``<index>@<unix time>;`` so a client can measure latency;
- anything else: echo ``You said: <message>`` word by word.

Agent scripts drive the multi-agent runtime. Lines (or ``||``-separated parts) of the
form ``@<agent>: <action>; <action>; ...`` give that agent's action at each of its
steps in the turn (the last action repeats once the list runs out):

- ``say <text>``: answer with text (``{context}`` becomes the roles of the messages
  the model was given, e.g. ``system,user,assistant,tool``);
- ``wait <seconds> <text>``: answer with text, pausing before each word;
- ``transfer <agent> <reason>``: call ``transfer_to_<agent>``;
- ``tool <tool> <json arguments>``: call a tool;
- ``fail <reason>``: fail before the first token (with ``fail; say ok`` the first step
  fails and the second answers, e.g. a retried task).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator

from litellm import CustomLLM
from litellm.types.utils import GenericStreamingChunk, ModelResponse

from agents.llm.streaming import chunk, final_chunk, last_user_text, rough_token_count, tool_call_chunk

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


SCRIPT_LINE = re.compile(r"@([a-z0-9_\-]+):\s*(.+)")


def agent_action(prompt: str, agent: str, step: int) -> str | None:
    """The scripted action of ``agent`` at its ``step`` (1-based), or None if unscripted."""
    for part in re.split(r"\n|\|\|", prompt):
        match = SCRIPT_LINE.match(part.strip())
        if match and match.group(1) == agent:
            actions = [a.strip() for a in match.group(2).split(";") if a.strip()]
            return actions[min(step, len(actions)) - 1] if actions else None
    return None


def action_chunks(action: str, messages: list[dict]) -> Iterator[GenericStreamingChunk]:
    verb, _, rest = action.partition(" ")
    delay = 0.0
    if verb == "wait":
        seconds, _, rest = rest.strip().partition(" ")
        delay, verb = float(seconds), "say"
    if verb == "transfer":
        target, _, reason = rest.strip().partition(" ")
        yield tool_call_chunk(f"transfer_to_{target}", {"reason": reason or "scripted hand-off"})
    elif verb == "fail":
        raise ScriptedModelError(rest.strip() or "scripted failure")
    elif verb == "tool":
        name, _, arguments = rest.strip().partition(" ")
        yield tool_call_chunk(name, json.loads(arguments) if arguments.strip() else {})
    else:
        text = rest if verb == "say" else action
        text = text.replace("{context}", ",".join(m.get("role", "") for m in messages))
        words = text.split(" ")
        for i, word in enumerate(words):
            if delay:
                time.sleep(delay)
            yield chunk(word + (" " if i < len(words) - 1 else ""))


class ScriptedModel(CustomLLM):
    def streaming(self, model, messages, *args, **kwargs) -> Iterator[GenericStreamingChunk]:
        prompt = last_user_text(messages)
        metadata = (kwargs.get("litellm_params") or {}).get("metadata") or {}
        action = None
        if metadata.get("agent"):
            action = agent_action(prompt, metadata["agent"], int(metadata.get("agent_step") or 1))
        produced = 0
        pieces = action_chunks(action, messages) if action else (chunk(p) for p in scripted_chunks(prompt))
        for piece in pieces:
            produced += rough_token_count(piece["text"]) or 1
            yield piece
        yield final_chunk(prompt_tokens=rough_token_count(prompt), completion_tokens=produced)

    def completion(self, model, messages, *args, model_response: ModelResponse, **kwargs):
        text = "".join(scripted_chunks(last_user_text(messages)))
        model_response.choices[0].message.content = text  # type: ignore[union-attr]
        return model_response
