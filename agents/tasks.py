import threading

from celery.signals import worker_ready

from agents.llm.gateway import uses_offline_model


@worker_ready.connect
def warm_up_offline_model(**_kwargs) -> None:
    if uses_offline_model():
        from agents.knowledge.embeddings import warm_up

        # In the background: the worker takes tasks while the model loads.
        threading.Thread(target=warm_up, name="warm-up-embeddings", daemon=True).start()
