import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("config")
# All Celery settings live in config/settings.py under the CELERY_ prefix.
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# The one recovery task and worker-start hook, for every app's durable work (not an app).
app.autodiscover_tasks(["durable"])
# Workers answer `celery inspect rollout_decision` (config/worker_control.py).
import config.worker_control  # noqa: E402, F401
