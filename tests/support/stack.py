"""Real processes for end-to-end tests: daphne and a Celery worker, against the
test database and the test Redis, exactly as ``make run`` starts them."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import ClassVar

import httpx
from django.conf import settings

BASE_DIR = Path(__file__).resolve().parents[2]
LOG_DIR = BASE_DIR / "var" / "test-logs"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_url() -> str:
    """The URL of the *test* database, for processes started by the tests."""
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    auth = db.get("USER") or ""
    if db.get("PASSWORD"):
        auth += f":{db['PASSWORD']}"
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    return f"postgres://{auth}@{host}:{port}/{db['NAME']}"


class Stack:
    running: ClassVar[set[Stack]] = set()  # stacks with a live worker, for ``wait_idle`` at teardown

    def __init__(self, **env: str) -> None:
        self.port = free_port()
        # A queue of its own: only messages posted through this stack's web process reach
        # its worker, never those that in-process tests create and drive themselves.
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "CELERY_QUEUE": f"stack{self.port}",
            **env,
        }
        self.web: subprocess.Popen | None = None
        self.worker: subprocess.Popen | None = None
        LOG_DIR.mkdir(parents=True, exist_ok=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen:
        log = open(LOG_DIR / f"{name}-{self.port}.log", "ab")  # noqa: SIM115 - owned by the process
        return subprocess.Popen(
            [sys.executable, *args],
            cwd=BASE_DIR,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # so kill -9 of the group takes the pool too
        )

    def start_web(self) -> None:
        self.web = self._spawn(
            "web", ["-m", "daphne", "-b", "127.0.0.1", "-p", str(self.port), "config.asgi:application"]
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base_url}/accounts/login/", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise RuntimeError(f"daphne did not start; see {LOG_DIR}")

    def start_worker(self, concurrency: int = 8) -> None:
        # A name of its own: other stacks' workers (the session stack's, a killed one's
        # successor) answer pings too, and only this worker's answer means it is consuming.
        self._workers_started = getattr(self, "_workers_started", 0) + 1
        hostname = f"stack{self.port}-{self._workers_started}@tests"
        self.worker = self._spawn(
            "worker",
            [
                "-m", "celery", "-A", "config", "worker", "--hostname", hostname,
                "--pool", "threads", "--concurrency", str(concurrency),
                "--loglevel", "INFO", "--without-mingle", "--without-gossip",
            ],
        )  # fmt: skip
        from config.celery import app

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.worker.poll() is not None:
                raise RuntimeError(f"worker exited with {self.worker.returncode}; see {LOG_DIR}")
            if app.control.ping(destination=[hostname], timeout=0.5):
                self.hostname = hostname
                Stack.running.add(self)
                return
        raise RuntimeError(f"worker did not answer a ping; see {LOG_DIR}")

    def wait_idle(self, timeout: float = 60) -> bool:
        """Until this stack's worker has nothing queued, reserved, scheduled or running, seen twice
        in a row (a task that finishes may queue the next one). Work a test sets off (a ladder
        after a denied action, say) can outlive the test, and flushing the database under it
        deadlocks; returns False if the worker is still busy at the timeout."""
        from config.celery import app

        queue = self.env["CELERY_QUEUE"]
        quiet = 0
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.worker is not None and self.worker.poll() is None:
            with app.connection_for_read() as connection:  # the Redis list kombu keeps the queue in
                queued = connection.default_channel.client.llen(queue)
            inspect = app.control.inspect(destination=[self.hostname], timeout=1)
            busy = queued or any(
                tasks for reply in (inspect.active(), inspect.reserved(), inspect.scheduled())
                for tasks in (reply or {}).values()
            )  # fmt: skip
            quiet = 0 if busy else quiet + 1
            if quiet >= 2:
                return True
            time.sleep(0.2)
        return self.worker is None or self.worker.poll() is not None

    def kill_worker(self) -> None:
        """kill -9, the whole process group: no shutdown handler runs."""
        if self.worker is not None and self.worker.poll() is None:
            os.killpg(self.worker.pid, signal.SIGKILL)
            self.worker.wait()
        self.worker = None
        Stack.running.discard(self)

    def stop(self) -> None:
        for process in (self.worker, self.web):
            if process is not None and process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in (self.worker, self.web):
            if process is None:
                continue
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self.worker = self.web = None
        Stack.running.discard(self)
