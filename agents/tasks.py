import logging
import threading
import time

from celery import shared_task
from celery.signals import worker_ready
from django.db import OperationalError

from agents.llm.gateway import uses_offline_model
from agents.llm.warm import offline_model_loaded_record

logger = logging.getLogger(__name__)


def _warm_up() -> None:
    from django.db import connections

    from agents.knowledge.embeddings import warm_up
    from agents.runtime.routing import warm_up_routers

    started = time.monotonic()
    try:
        if uses_offline_model():
            warm_up()
            offline_model_loaded_record(seconds=round(time.monotonic() - started, 1))
        warm_up_routers()
        logger.info("models warmed up in %.1f s", time.monotonic() - started)
    finally:
        connections.close_all()


@worker_ready.connect
def warm_up_models(**_kwargs) -> None:
    # In the background: the worker takes tasks while the models load.
    threading.Thread(target=_warm_up, name="warm-up", daemon=True).start()


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def ingest_document(document_id: int) -> None:
    """Parse, chunk and embed one knowledge document (progress is published as it goes)."""
    from agents.knowledge.ingestion import document_ingest

    document_ingest(document_id=document_id)


@shared_task(name="agents.check_mcp_servers", ignore_result=True, acks_late=True)
def check_mcp_servers() -> None:
    """Beat: each enabled MCP server's health, which decides whether its tools are offered
    (turns read the stored result, never the server); and the record of calls cut off by a
    worker that stopped is closed."""
    from agents.mcp.services import mcp_calls_close_interrupted, mcp_servers_check_health

    mcp_servers_check_health()
    mcp_calls_close_interrupted()
