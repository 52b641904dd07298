"""Registers the in-process model providers with litellm.

``offline/...`` answers from the account's knowledge base (the default when no
hosted model is configured); ``scripted/...`` is the deterministic test double.
"""

import litellm
from litellm.utils import custom_llm_setup

from agents.llm.offline import OfflineKnowledgeModel
from agents.llm.scripted import ScriptedModel

OFFLINE_PROVIDER = "offline"
SCRIPTED_PROVIDER = "scripted"


def register_custom_providers() -> None:
    existing = {entry["provider"] for entry in litellm.custom_provider_map}
    additions = [
        {"provider": OFFLINE_PROVIDER, "custom_handler": OfflineKnowledgeModel()},
        {"provider": SCRIPTED_PROVIDER, "custom_handler": ScriptedModel()},
    ]
    litellm.custom_provider_map = [
        *litellm.custom_provider_map,
        *(a for a in additions if a["provider"] not in existing),
    ]
    # Streaming logging costs ~1 ms of CPU per chunk and we record usage ourselves.
    litellm.disable_streaming_logging = True
    litellm.suppress_debug_info = True
    litellm.telemetry = False
    # litellm also does this lazily on the first call; doing it now lets the
    # health check and model validation recognise our providers before any call.
    custom_llm_setup()
