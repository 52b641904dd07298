"""Start the whole app for development: ``python -m config.stack`` (what ``make run`` does).

Starts the embedded Redis when ``REDIS_URL`` is unset, then daphne and a Celery
worker (with beat) as child processes, and stops all of them on Ctrl+C. A child
that dies is started again and the output says so, after a pause that doubles
with each restart (1 s, 2 s, 4 s ... at most 30 s); a child that dies more than
``STACK_RESTART_LIMIT`` times (5) within ``STACK_RESTART_WINDOW_SECONDS`` (60)
is crash-looping, and the stack stops. The same processes run in production,
each under its own supervisor (deploy/).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent


def _log(message: str) -> None:
    print(f"[stack] {message}", flush=True)


MAX_BACKOFF_SECONDS = 30.0


@dataclass
class Child:
    """One supervised process: how to start it, and when it last died."""

    name: str
    start: Callable[[], subprocess.Popen | None]
    process: subprocess.Popen | None = None
    deaths: deque[float] = field(default_factory=deque)  # monotonic times, within the window
    restart_at: float | None = None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None


class Supervisor:
    """Restarts children that die, with a doubling pause and a limit per time window."""

    def __init__(self, *, limit: int = 5, window: float = 60.0, first_backoff: float = 1.0) -> None:
        self.children: list[Child] = []
        self.limit, self.window, self.first_backoff = limit, window, first_backoff

    def add(self, name: str, start: Callable[[], subprocess.Popen | None]) -> Child:
        child = Child(name=name, start=start)
        child.process = start()
        self.children.append(child)
        return child

    def check(self, now: float | None = None) -> str | None:
        """Restart what is due; returns why the stack must stop (a child crash-looping), or None."""
        now = time.monotonic() if now is None else now
        for child in self.children:
            if child.restart_at is not None:
                if now >= child.restart_at:
                    child.restart_at = None
                    child.process = child.start()
                    _log(f"restarted {child.name} (pid {child.pid})")
                continue
            if child.process is None or child.process.poll() is None:
                continue
            code = child.process.returncode
            while child.deaths and now - child.deaths[0] > self.window:
                child.deaths.popleft()
            child.deaths.append(now)
            if len(child.deaths) > self.limit:
                return (
                    f"{child.name} exited with code {code}, {len(child.deaths)} times in "
                    f"{self.window:g} s: giving up"
                )
            pause = min(self.first_backoff * 2 ** (len(child.deaths) - 1), MAX_BACKOFF_SECONDS)
            child.restart_at = now + pause
            _log(
                f"{child.name} exited with code {code}; restarting it in {pause:g} s "
                f"(restart {len(child.deaths)} of at most {self.limit} in {self.window:g} s)"
            )
        return None

    def stop(self) -> None:
        running = [c.process for c in self.children if c.process is not None and c.process.poll() is None]
        for process in running:
            process.terminate()
        for process in running:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def main() -> int:
    os.environ.setdefault("DJANGO_DEBUG", "1")  # a development entry point
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    # A local mailbox: escalation and alert emails land as files a person can open, instead of
    # scrolling past in the worker's console output.
    os.environ.setdefault("EMAIL_BACKEND", "django.core.mail.backends.filebased.EmailBackend")
    host = os.environ.get("HOST", "127.0.0.1")
    port = os.environ.get("PORT", "8000")

    embedded = None
    if not os.environ.get("REDIS_URL"):
        from config.embedded_redis import EmbeddedRedis

        var_dir = Path(os.environ.get("VAR_DIR", BASE_DIR / "var"))
        embedded = EmbeddedRedis(var_dir / "redis" / "redis.sock")
        embedded.start()
        os.environ["REDIS_URL"] = embedded.url
        _log(f"embedded Redis on {embedded.url}")

    python = sys.executable
    supervisor = Supervisor(
        limit=int(os.environ.get("STACK_RESTART_LIMIT", "5")),
        window=float(os.environ.get("STACK_RESTART_WINDOW_SECONDS", "60")),
    )

    def spawn(name: str, args: list[str]) -> None:
        child = supervisor.add(name, lambda: subprocess.Popen(args, cwd=BASE_DIR))
        _log(f"started {name} (pid {child.pid}): {' '.join(args[1:4])}…")

    if embedded is not None:
        # Redis too: started again (empty, as it keeps nothing on disk) if it dies.
        def start_redis() -> subprocess.Popen | None:
            embedded.start()
            return embedded.process

        supervisor.children.append(Child(name="redis", start=start_redis, process=embedded.process))

    spawn("web", [python, "-m", "daphne", "-b", host, "-p", port, "config.asgi:application"])
    # The only beat: it runs inside this one worker (--beat). Two beats would send every periodic
    # task twice; in production beat is a process of its own, run exactly once (deploy/).
    spawn(
        "worker",
        [
            python,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--beat",
            "--pool",
            os.environ.get("CELERY_POOL", "threads"),
            "--concurrency",
            os.environ.get("CELERY_CONCURRENCY", "16"),
            "--loglevel",
            "INFO",
            "--schedule",
            str(Path(os.environ.get("VAR_DIR", BASE_DIR / "var")) / "celerybeat-schedule"),
        ],
    )
    _log(f"open http://{host}:{port}/  (log in as member / demo-password); Ctrl+C stops everything")
    if os.environ["EMAIL_BACKEND"].endswith("filebased.EmailBackend"):
        from django.conf import settings

        _log(f"emails are written to {settings.EMAIL_FILE_PATH}/")

    stopping = False

    def stop(*_args) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    exit_code = 0
    try:
        while not stopping:
            if reason := supervisor.check():
                _log(f"{reason}; stopping the rest")
                exit_code = 1
                break
            time.sleep(0.5)
    finally:
        supervisor.stop()
        if embedded is not None:
            embedded.stop()
        _log("stopped")
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
