"""A throwaway database, Redis and Celery worker for the benchmarks that need a real worker.

Uses ``DATABASE_URL`` / ``REDIS_URL`` when they are set; otherwise a SQLite file and an embedded
Redis in a temporary folder. Its own queue and key prefixes keep it apart from ``make run``.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent


class WorkerEnvironment:
    """Everything is removed by ``close()``."""

    def __init__(self, *, prefix: str, concurrency: int, worker_events: bool = False) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix=f"bench-{prefix}-"))
        self.concurrency = concurrency
        self.worker_events = worker_events  # -E: task events, for benches that time them
        self.redis = None
        self.worker: subprocess.Popen | None = None
        run_id = f"bench{os.getpid()}"
        self.hostname = f"{run_id}@bench"
        env = {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DJANGO_DEBUG": "0",
            "SECRET_KEY": secrets.token_urlsafe(40),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SECURE_COOKIES": "0",
            "LLM_MODEL": "scripted/default",
            "LLM_FALLBACK_MODELS": "",
            "VAR_DIR": str(self.tmp / "var"),
            "CELERY_QUEUE": run_id,
            "CHANNELS_PREFIX": run_id,
            "CACHE_PREFIX": run_id,
            "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
            "TOKENIZERS_PARALLELISM": "false",
            "LOG_LEVEL": "WARNING",
        }
        if not os.environ.get("DATABASE_URL"):
            env["DATABASE_URL"] = f"sqlite:///{self.tmp / 'bench.sqlite3'}"
        if os.environ.get("REDIS_URL"):
            env["REDIS_URL"] = os.environ["REDIS_URL"]
        else:
            from config.embedded_redis import EmbeddedRedis

            self.redis = EmbeddedRedis(self.tmp / "redis" / "redis.sock")
            self.redis.start()
            env["REDIS_URL"] = self.redis.url
        os.environ.update(env)
        self.env = dict(os.environ)

    def setup_django(self) -> None:
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", interactive=False, verbosity=0)

    def start_worker(self) -> None:
        log = open(self.tmp / "worker.log", "ab")  # noqa: SIM115 - owned by the process
        args = [
            sys.executable, "-m", "celery", "-A", "config", "worker", "--hostname", self.hostname,
            "--pool", "threads", "--concurrency", str(self.concurrency), "--loglevel", "WARNING",
            "--without-mingle", "--without-gossip", *(["-E"] if self.worker_events else []),
        ]  # fmt: skip
        self.worker = subprocess.Popen(
            args, cwd=BASE_DIR, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        from config.celery import app

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.worker.poll() is not None:
                raise RuntimeError(f"the worker exited; see {self.tmp / 'worker.log'}")
            if app.control.ping(destination=[self.hostname], timeout=0.5):
                return
        raise RuntimeError("the worker never answered a ping")

    def close(self) -> None:
        if self.worker is not None and self.worker.poll() is None:
            os.killpg(self.worker.pid, signal.SIGTERM)
            try:
                self.worker.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.worker.pid, signal.SIGKILL)
        if self.redis is not None:
            self.redis.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)
