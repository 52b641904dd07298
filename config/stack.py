"""Start the whole app for development: ``python -m config.stack`` (what ``make run`` does).

Starts the embedded Redis when ``REDIS_URL`` is unset, then daphne and a Celery
worker (with beat) as child processes, and stops all of them on Ctrl+C. The
same processes run in production, each under its own supervisor.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent


def _log(message: str) -> None:
    print(f"[stack] {message}", flush=True)


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
    children: list[tuple[str, subprocess.Popen]] = []

    def spawn(name: str, args: list[str]) -> None:
        children.append((name, subprocess.Popen(args, cwd=BASE_DIR)))
        _log(f"started {name}: {' '.join(args[1:4])}…")

    spawn("web", [python, "-m", "daphne", "-b", host, "-p", port, "config.asgi:application"])
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
            for name, process in children:
                if process.poll() is not None:
                    _log(f"{name} exited with code {process.returncode}; stopping the rest")
                    exit_code = process.returncode or 1
                    stopping = True
            time.sleep(0.5)
    finally:
        for _name, process in children:
            if process.poll() is None:
                process.terminate()
        for _name, process in children:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        if embedded is not None:
            embedded.stop()
        _log("stopped")
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
