import logging
import threading
import time

from celery.signals import worker_ready

from agents.llm.gateway import uses_offline_model

logger = logging.getLogger(__name__)


def _warm_up() -> None:
    from django.db import connections

    from agents.knowledge.embeddings import warm_up
    from agents.runtime.routing import warm_up_routers

    started = time.monotonic()
    try:
        if uses_offline_model():
            warm_up()
        warm_up_routers()
        logger.info("models warmed up in %.1f s", time.monotonic() - started)
    finally:
        connections.close_all()


@worker_ready.connect
def warm_up_models(**_kwargs) -> None:
    # In the background: the worker takes tasks while the models load.
    threading.Thread(target=_warm_up, name="warm-up", daemon=True).start()
