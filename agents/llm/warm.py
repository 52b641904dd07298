"""What the workers report about the offline model: a worker that loaded it (the MiniLM sentence
embeddings, at start-up) records when, so that a web process can show that evidence (the readiness
report) without loading the model itself, which takes tens of seconds on a busy machine."""

from __future__ import annotations

import socket
from datetime import datetime

from django.core.cache import cache
from django.utils import timezone

OFFLINE_LOADED_KEY = "agents:offline-model-loaded"


def offline_model_loaded_record(*, seconds: float, worker: str | None = None) -> None:
    cache.set(
        OFFLINE_LOADED_KEY,
        {"at": timezone.now().isoformat(), "worker": worker or socket.gethostname(), "seconds": seconds},
        timeout=None,
    )


def offline_model_loaded() -> tuple[datetime, str, float] | None:
    """(when, which worker host, load seconds) of the latest load a worker reported, or None."""
    value = cache.get(OFFLINE_LOADED_KEY)
    if not value:
        return None
    return datetime.fromisoformat(value["at"]), value["worker"], float(value["seconds"])
