"""Helpers shared by the in-process providers to speak litellm's chunk format."""

from __future__ import annotations

import json
import uuid

from litellm.types.utils import GenericStreamingChunk


def chunk(text: str) -> GenericStreamingChunk:
    return {
        "text": text,
        "tool_use": None,
        "is_finished": False,
        "finish_reason": "",
        "usage": None,
        "index": 0,
    }


def tool_call_chunk(name: str, arguments: dict) -> GenericStreamingChunk:
    """A call of tool ``name``, in one chunk (id, name and all arguments at once)."""
    piece = chunk("")
    piece["tool_use"] = {
        "id": f"call_{uuid.uuid4().hex[:12]}",
        "type": "function",
        "function": {"name": name, "arguments": json.dumps(arguments)},
        "index": 0,
    }
    return piece


def final_chunk(*, prompt_tokens: int, completion_tokens: int) -> GenericStreamingChunk:
    return {
        "text": "",
        "tool_use": None,
        "is_finished": True,
        "finish_reason": "stop",
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
        "index": 0,
    }


def last_user_text(messages: list[dict]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            content = message.get("content") or ""
            return content if isinstance(content, str) else str(content)
    return ""


def rough_token_count(text: str) -> int:
    """Words and punctuation, close to what BPE tokenizers count for English."""
    return max(1, round(len(text) / 4)) if text else 0
