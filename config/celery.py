import os

from celery import Celery

from config.broker import install as install_broker_transport

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

install_broker_transport()  # survives a Redis restart (config/broker.py)
app = Celery("config")
# All Celery settings live in config/settings.py under the CELERY_ prefix.
app.config_from_object("django.conf:settings", namespace="CELERY")
# Redis may restart (README, "Faults"). The worker keeps running and reconnects for as long as it
# takes, instead of exiting after the default 100 attempts; a message queued by the web while Redis
# is down fails fast (a few tenths of a second) and is re-sent by the recovery scan (durable/).
# Replies running when the connection drops go on: they write to the database, and their
# ``acks_late`` message, lost with Redis anyway, is not needed (the scan re-sends unfinished work).
app.conf.update(
    broker_connection_retry=True,
    broker_connection_retry_on_startup=True,
    broker_connection_max_retries=None,
    broker_channel_error_retry=True,
    worker_cancel_long_running_tasks_on_connection_loss=False,
    task_publish_retry_policy={
        "max_retries": 2,
        "interval_start": 0,
        "interval_step": 0.2,
        "interval_max": 0.5,
    },
)
app.autodiscover_tasks()
# The one recovery task and worker-start hook, for every app's durable work (not an app).
app.autodiscover_tasks(["durable"])
# Workers answer `celery inspect rollout_decision` (config/worker_control.py).
import config.worker_control  # noqa: E402, F401
