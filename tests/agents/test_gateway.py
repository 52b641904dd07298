"""The LLM gateway: litellm's real HTTP streaming path against a loopback
OpenAI-compatible server, plus fallbacks, timeouts and usage accounting."""

import pytest

from agents.llm.gateway import ChatStream, LLMError, model_health
from tests.support.openai_server import REPLY, LoopbackOpenAIServer

MESSAGES = [{"role": "user", "content": "hi"}]


@pytest.fixture
def server():
    with LoopbackOpenAIServer() as running:
        yield running


@pytest.fixture
def hosted(settings, server):
    settings.LLM_MODEL = "openai/test-model"
    settings.LLM_API_BASE = server.api_base
    settings.LLM_API_KEY = "sk-test"
    settings.LLM_NUM_RETRIES = 0
    settings.LLM_TIMEOUT_SECONDS = 2
    settings.LLM_FALLBACK_MODELS = []
    return settings


def test_a_hosted_model_streams_through_litellms_http_path(hosted, server):
    stream = ChatStream(messages=MESSAGES, account_id=1)
    chunks = list(stream)
    assert "".join(chunks) == REPLY
    assert len(chunks) > 1  # streamed, not one blob
    assert stream.result.model == "openai/test-model"
    assert (stream.result.prompt_tokens, stream.result.completion_tokens) == (11, 6)
    assert (
        stream.result.first_token_ms is not None and stream.result.latency_ms >= stream.result.first_token_ms
    )
    sent = server.requests[0]
    assert sent["path"] == "/v1/chat/completions"
    assert sent["body"]["stream"] is True and sent["body"]["model"] == "test-model"
    assert sent["headers"]["Authorization"] == "Bearer sk-test"


def test_known_models_are_costed_from_litellms_price_list(hosted, server):
    hosted.LLM_MODEL = "openai/gpt-4o-mini"
    stream = ChatStream(messages=MESSAGES, account_id=1)
    list(stream)
    assert stream.result.cost_usd > 0


def test_a_failing_model_falls_back_to_the_next_one(hosted, server):
    hosted.LLM_MODEL = "openai/test-broken"
    hosted.LLM_FALLBACK_MODELS = ["scripted/backup"]
    stream = ChatStream(messages=[{"role": "user", "content": "count=2"}], account_id=1)
    assert "".join(stream) == "w1 w2"
    assert stream.result.model == "scripted/backup"
    assert stream.result.attempts == ["openai/test-broken", "scripted/backup"]


def test_a_model_that_does_not_answer_in_time_is_an_error_naming_it(hosted, server):
    hosted.LLM_MODEL = "openai/test-slow"
    with pytest.raises(LLMError, match="openai/test-slow"):
        list(ChatStream(messages=MESSAGES, account_id=1))


def test_a_failure_after_text_is_not_papered_over_by_a_fallback(settings):
    settings.LLM_MODEL = "scripted/primary"
    settings.LLM_FALLBACK_MODELS = ["scripted/backup"]
    stream = ChatStream(messages=[{"role": "user", "content": "count=5 fail=2"}], account_id=1)
    received = []
    with pytest.raises(LLMError, match="mid-answer"):
        for text in stream:
            received.append(text)
    assert "".join(received) == "w1 w2 "


def test_an_agent_can_override_the_model(settings):
    settings.LLM_MODEL = "openai/never-called"
    stream = ChatStream(messages=[{"role": "user", "content": "count=1"}], account_id=1, model="scripted/x")
    assert "".join(stream) == "w1"


@pytest.mark.parametrize(
    ("model", "api_base", "ok"),
    [
        ("scripted/default", "", True),
        ("offline/knowledge-base", "", True),
        ("anthropic/claude-sonnet-4-5", "", False),
        ("openai/anything", "http://127.0.0.1:9/v1", True),
    ],
)
def test_model_health_says_whether_the_model_can_be_called(settings, monkeypatch, model, api_base, ok):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    settings.LLM_MODEL, settings.LLM_API_BASE, settings.LLM_API_KEY = model, api_base, ""
    health = model_health()
    assert health.ok is ok
    if not ok:
        assert "ANTHROPIC_API_KEY" in health.detail
