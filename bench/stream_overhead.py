"""How much latency the full chat pipeline adds over a bare channel-layer round trip.

Two paths, measured in the same run at the same concurrency, each with N concurrent
conversations whose browser is simulated by a real WebSocket:

- full: POST ``stamp count=K delay=D`` to the chat view (htmx, session, CSRF) -> Celery
  worker -> litellm (scripted model) -> frame written to the DB -> channel layer ->
  daphne consumer -> WebSocket;
- bare: a publisher process ``group_send``s the same ``chat.frame`` events at the same
  cadence straight to the channel layer -> daphne consumer -> WebSocket.

Every chunk carries ``<index>@<unix time of emit>;``, so latency is receive time minus
emit time (one machine, one clock). Sets up its own database, Redis, daphne and worker
and removes them on exit. Usage::

    .venv/bin/python bench/stream_overhead.py --concurrency 50 --chunks 40 --delay 0.05
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import re
import secrets
import shutil
import signal
import socket
import string
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent
MAX_CONCURRENCY = 200
TERMINAL_STATUSES = {"complete", "failed", "cancelled"}

FRAME_RE = re.compile(r'hx-swap-oob="beforeend:#message-(\d+)-text" data-seq="(\d+)">(.*?)</span>', re.S)
ARTICLE_RE = re.compile(r'<article[^>]*\bid="message-(\d+)"[^>]*\bdata-status="(\w+)"')
ARTICLE_TEXT_RE = re.compile(r'<div class="message-text[^"]*" id="message-\d+-text">(.*?)</div>', re.S)
REPLY_ID_RE = re.compile(r'id="message-(\d+)" data-role="assistant"')
STAMP_RE = re.compile(r"(\d+)@([0-9.]+);")


class BenchError(Exception):
    """The benchmark itself could not run (as opposed to the app missing a goal)."""


def _log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and all its threads (Linux); nan elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return math.nan
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], pct: float) -> float:
    """Linear interpolation between closest ranks (numpy's default); nan when empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * pct / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


# --- The bare publisher (runs in its own process: ``stream_overhead.py --publisher``) ------


async def _publish_conversation(
    layer: Any, conversation_id: int, message_id: int, chunks: int, delay: float
) -> None:
    from conversations.realtime import conversation_group, frame_event

    group, start = conversation_group(conversation_id), 0
    for index in range(1, chunks + 1):
        await asyncio.sleep(delay)  # the scripted model sleeps before each chunk, too
        text = f"{index}@{time.time():.6f};"
        await layer.group_send(group, frame_event(message_id=message_id, seq=index, start=start, text=text))
        start += len(text)


async def _publisher_serve() -> None:
    """Read jobs (JSON lines) from stdin, publish them, answer one JSON line per job."""
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    loop = asyncio.get_running_loop()
    await layer.group_send("bench.warmup", {"type": "bench.noop"})  # opens the Redis connection
    print(json.dumps({"ready": True}), flush=True)
    while line := await loop.run_in_executor(None, sys.stdin.readline):
        job = json.loads(line)
        started = time.monotonic()
        await asyncio.gather(
            *(
                _publish_conversation(layer, conversation_id, message_id, job["chunks"], job["delay"])
                for conversation_id, message_id in job["targets"]
            )
        )
        print(json.dumps({"seconds": time.monotonic() - started}), flush=True)


def publisher_main() -> int:
    import django

    sys.path.insert(0, str(BASE_DIR))
    django.setup()
    asyncio.run(_publisher_serve())
    return 0


# --- Clients ---------------------------------------------------------------------------


@dataclass
class Target:
    conversation_id: int
    session_key: str
    message_id: int | None = None  # bare: the streaming assistant message


@dataclass
class Client:
    target: Target
    received: list[tuple[float, str]] = field(default_factory=list)
    stamps: int = 0
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    done: asyncio.Event = field(default_factory=asyncio.Event)
    t_post: float | None = None
    post_seconds: float | None = None
    reply_id: int | None = None
    timed_out: bool = False
    error: str | None = None


@dataclass
class Stack:
    port: int
    csrf_token: str

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"


async def _read(ws: Any, client: Client, kind: str, chunks: int) -> None:
    async for message in ws:
        now = time.time()
        client.received.append((now, message))
        if "data-seq=" in message:
            client.stamps += message.count("@")
            if kind == "bare" and client.stamps >= chunks:
                client.done.set()
        elif "<article" in message[:200]:
            match = ARTICLE_RE.search(message)
            if match is None:
                continue
            if kind == "bare":
                client.ready.set()  # the consumer rendered the message: frames will be forwarded
            elif match.group(2) in TERMINAL_STATUSES:
                client.done.set()


async def run_client(
    client: Client, kind: str, stack: Stack, go: asyncio.Event, http: Any, args: Any
) -> None:
    from websockets.asyncio.client import connect
    from websockets.typing import Origin

    target = client.target
    cookie = f"sessionid={target.session_key}; csrftoken={stack.csrf_token}"
    reader: asyncio.Task[None] | None = None
    try:
        async with connect(
            f"{stack.ws_url}/ws/conversations/{target.conversation_id}/",
            origin=Origin(stack.base_url),
            additional_headers={"Cookie": cookie},
            open_timeout=120,
            ping_interval=None,  # under load a late pong would close the socket
            max_size=None,
        ) as ws:
            reader = asyncio.create_task(_read(ws, client, kind, args.chunks))
            if kind == "full":
                client.ready.set()  # connected means joined: the consumer joins the group before accept
            await go.wait()
            if kind == "full":
                client.t_post = time.time()
                response = await http.post(
                    f"/chat/{target.conversation_id}/messages/",
                    data={"message": f"stamp count={args.chunks} delay={args.delay}"},
                    headers={"Cookie": cookie},  # wins over the client's cookie jar
                )
                client.post_seconds = time.time() - client.t_post
                if response.status_code != 201:
                    raise BenchError(f"POST answered {response.status_code}: {response.text[:200]!r}")
                match = REPLY_ID_RE.search(response.text)
                if match is None:
                    raise BenchError("POST response has no assistant message")
                client.reply_id = int(match.group(1))
            await client.done.wait()
    except asyncio.CancelledError:
        if not client.timed_out:
            raise
    except Exception as exc:
        client.error = f"{type(exc).__name__}: {exc}"
    finally:
        if reader is not None:
            reader.cancel()
        client.ready.set()  # never leave the phase waiting for a client that failed


class Publisher:
    """The bare path's publisher process."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    @classmethod
    async def start(cls, env: dict[str, str], log_path: Path) -> Publisher:
        with open(log_path, "ab") as log:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                str(Path(__file__).resolve()),
                "--publisher",
                cwd=BASE_DIR,
                env=env,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=log,
                start_new_session=True,
            )
        return cls(process)

    async def ready(self) -> None:
        await self._answer(timeout=60)

    async def _answer(self, timeout: float) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = await asyncio.wait_for(self.process.stdout.readline(), timeout)
        if not line:
            raise BenchError(f"publisher exited with {await self.process.wait()}")
        return json.loads(line)

    async def run(self, targets: list[Target], chunks: int, delay: float, timeout: float) -> float:
        assert self.process.stdin is not None
        job = {"targets": [[t.conversation_id, t.message_id] for t in targets], "chunks": chunks}
        self.process.stdin.write((json.dumps({**job, "delay": delay}) + "\n").encode())
        await self.process.stdin.drain()
        return (await self._answer(timeout))["seconds"]

    async def stop(self, kill: bool = False) -> None:
        """End of input ends it once its job is done; ``kill`` when the job was interrupted."""
        if self.process.returncode is not None:
            return
        if kill:
            self.process.kill()
        elif self.process.stdin is not None:
            self.process.stdin.close()
        try:
            await asyncio.wait_for(self.process.wait(), 10)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()


async def run_phase(
    kind: str,
    targets: list[Target],
    stack: Stack,
    http: Any,
    args: Any,
    chunks: int,
    publisher: Publisher | None = None,
) -> list[Client]:
    """Connect every client, start all streams at once, wait for the ends (or the timeout)."""
    phase_args = argparse.Namespace(**{**vars(args), "chunks": chunks})
    clients = [Client(target) for target in targets]
    go = asyncio.Event()
    tasks = [asyncio.create_task(run_client(c, kind, stack, go, http, phase_args)) for c in clients]
    try:
        await asyncio.wait_for(asyncio.gather(*(c.ready.wait() for c in clients)), 180)
    except TimeoutError as exc:
        raise BenchError(f"{kind}: clients not connected after 180 s") from exc
    failed = [c.error for c in clients if c.error]
    if failed:
        for task in tasks:
            task.cancel()
        raise BenchError(f"{kind}: {len(failed)} clients failed to connect, e.g. {failed[0]}")
    go.set()
    deadline = time.monotonic() + args.timeout
    if publisher is not None:
        await publisher.run(targets, chunks, args.delay, args.timeout)
        deadline = time.monotonic() + 15  # whatever is not delivered by then is lost
    _, pending = await asyncio.wait(tasks, timeout=max(0.0, deadline - time.monotonic()))
    for client, task in zip(clients, tasks, strict=True):
        if task in pending:
            client.timed_out = True
            task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return clients


# --- Analysis --------------------------------------------------------------------------


@dataclass
class PathStats:
    chunks_expected: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    emitted_at: list[float] = field(default_factory=list)  # parallel to latencies_ms
    stream_spans: list[tuple[float, float]] = field(default_factory=list)  # first/last emit per reply
    last_post_answered: float = 0.0  # unix time the last POST of the phase was answered
    first_token_ms: list[float] = field(default_factory=list)
    first_emit_ms: list[float] = field(default_factory=list)
    post_ms: list[float] = field(default_factory=list)
    lost: int = 0
    not_in_frames: int = 0
    missing_in_final: int = 0
    reordered: int = 0
    duplicated: int = 0
    wrong_message: int = 0
    timed_out: int = 0
    not_complete: int = 0
    errors: list[str] = field(default_factory=list)
    wall_seconds: float = 0.0
    cpu_seconds: dict[str, float] = field(default_factory=dict)


def analyse(kind: str, clients: list[Client], chunks: int) -> PathStats:
    stats = PathStats(chunks_expected=chunks * len(clients))
    expected = set(range(1, chunks + 1))
    for client in clients:
        if client.error:
            stats.errors.append(client.error)
        stats.timed_out += client.timed_out
        if client.t_post is not None and client.post_seconds is not None:
            stats.post_ms.append(client.post_seconds * 1000)
            stats.last_post_answered = max(stats.last_post_answered, client.t_post + client.post_seconds)
        in_frames: set[int] = set()
        in_articles: set[int] = set()
        final_status, final_indices = None, set()
        highest, first_frame_at, first_emit, last_emit = 0, None, None, 0.0
        for received_at, message in client.received:
            for frame in FRAME_RE.finditer(message):
                message_id = int(frame.group(1))
                wanted = client.target.message_id if kind == "bare" else client.reply_id
                if wanted is not None and message_id != wanted:
                    stats.wrong_message += 1
                    continue
                for index_text, emitted_text in STAMP_RE.findall(frame.group(3)):
                    index, emitted = int(index_text), float(emitted_text)
                    if index in in_frames:
                        stats.duplicated += 1
                        continue
                    if index < highest:
                        stats.reordered += 1
                    highest = max(highest, index)
                    in_frames.add(index)
                    stats.latencies_ms.append((received_at - emitted) * 1000)
                    stats.emitted_at.append(emitted)
                    last_emit = max(last_emit, emitted)
                    if first_frame_at is None:
                        first_frame_at, first_emit = received_at, emitted
            article = ARTICLE_RE.search(message)
            if article is not None and "<article" in message[:200]:
                text = ARTICLE_TEXT_RE.search(message)
                indices = {int(i) for i, _ in STAMP_RE.findall(text.group(1))} if text else set()
                in_articles |= indices
                final_status, final_indices = article.group(2), indices
        if first_emit is not None:
            stats.stream_spans.append((first_emit, last_emit))
        stats.lost += len(expected - in_frames - in_articles)
        stats.not_in_frames += len(expected - in_frames)
        if kind == "full":
            if final_status != "complete":
                stats.not_complete += 1
            stats.missing_in_final += len(expected - final_indices)
            if client.t_post is not None and first_frame_at is not None and first_emit is not None:
                stats.first_token_ms.append((first_frame_at - client.t_post) * 1000)
                stats.first_emit_ms.append((first_emit - client.t_post) * 1000)
    return stats


def durations(stats: PathStats) -> list[float]:
    """Seconds from the first to the last chunk emitted, per reply: a slow pipeline shows here
    too, since the next chunk is emitted (and stamped) only once the previous one is sent."""
    return [end - start for start, end in stats.stream_spans]


def peak_overlap(spans: list[tuple[float, float]]) -> int:
    """The most replies that were streaming at the same moment."""
    events = sorted([(start, 1) for start, _ in spans] + [(end, -1) for _, end in spans])
    peak = current = 0
    for _, step in events:
        current += step
        peak = max(peak, current)
    return peak


def _fmt(value: float, suffix: str = "", digits: int = 1) -> str:
    return "n/a" if math.isnan(value) else f"{value:.{digits}f}{suffix}"


def _ratio(full: float, bare: float) -> float:
    return full / bare if bare and not math.isnan(full) and not math.isnan(bare) else math.nan


def report(args: Any, bare: PathStats, full: PathStats) -> None:
    rows: list[tuple[str, str, str, str]] = []
    for pct in (50, 95):
        b, f = percentile(bare.latencies_ms, pct), percentile(full.latencies_ms, pct)
        ratio = _ratio(f, b)
        rows.append(
            (f"chunk->browser p{pct} (ms)", _fmt(b), _fmt(f), "n/a" if math.isnan(ratio) else f"{ratio:.2f}x")
        )
    # Chunks emitted once every POST was answered: no longer competing with the burst of requests.
    steady = [
        ms for ms, at in zip(full.latencies_ms, full.emitted_at, strict=True) if at > full.last_post_answered
    ]
    for pct in (50, 95):
        rows.append(
            (f"  after the POST burst p{pct}", "-", _fmt(percentile(steady, pct)), f"n={len(steady)}")
        )
    for pct in (50, 95):
        rows.append((f"POST->first token p{pct} (ms)", "-", _fmt(percentile(full.first_token_ms, pct)), ""))
    for pct in (50, 95):
        rows.append((f"  POST->first emit p{pct} (ms)", "-", _fmt(percentile(full.first_emit_ms, pct)), ""))
    for pct in (50, 95):
        rows.append((f"POST response p{pct} (ms)", "-", _fmt(percentile(full.post_ms, pct)), ""))
    rows += [
        ("chunks received in frames", f"{len(bare.latencies_ms)}/{bare.chunks_expected}",
         f"{len(full.latencies_ms)}/{full.chunks_expected}", ""),
        ("lost chunks", str(bare.lost), str(full.lost), ""),
        ("  shown only by a re-render", str(bare.not_in_frames - bare.lost),
         str(full.not_in_frames - full.lost), ""),
        ("  missing in final message", "-", str(full.missing_in_final), ""),
        ("reordered chunks", str(bare.reordered), str(full.reordered), ""),
        ("duplicated chunks", str(bare.duplicated), str(full.duplicated), ""),
        ("frames for another message", str(bare.wrong_message), str(full.wrong_message), ""),
        ("replies not complete", "-", str(full.not_complete), ""),
        ("clients timed out", str(bare.timed_out), str(full.timed_out), ""),
        ("stream duration p50 (s)", _fmt(percentile(durations(bare), 50), digits=2),
         _fmt(percentile(durations(full), 50), digits=2), f"ideal {(args.chunks - 1) * args.delay:.2f}"),
        ("stream duration p95 (s)", _fmt(percentile(durations(bare), 95), digits=2),
         _fmt(percentile(durations(full), 95), digits=2), ""),
        ("peak concurrent streams", str(peak_overlap(bare.stream_spans)),
         str(peak_overlap(full.stream_spans)), ""),
    ]  # fmt: skip
    print(
        f"\nstream overhead: concurrency={args.concurrency} chunks={args.chunks} delay={args.delay}s "
        f"(cpus={os.cpu_count()})"
    )
    print(f"{'':32}{'bare':>14}{'full':>14}{'full/bare':>12}")
    for name, b, f, r in rows:
        print(f"{name:32}{b:>14}{f:>14}{r:>12}")
    print()
    for kind, stats in (("bare", bare), ("full", full)):
        used = ", ".join(f"{name} {seconds:.1f}" for name, seconds in stats.cpu_seconds.items())
        print(f"{kind}: {stats.wall_seconds:.1f} s wall; CPU s: {used}")
    p50 = _ratio(percentile(full.latencies_ms, 50), percentile(bare.latencies_ms, 50))
    p95 = _ratio(percentile(full.latencies_ms, 95), percentile(bare.latencies_ms, 95))
    lost = bare.lost + full.lost
    print()
    print(f"goal: full p50 <= 1.5x bare p50: {_fmt(p50, 'x', 2)}  {'MET' if p50 <= 1.5 else 'MISSED'}")
    print(f"goal: full p95 <= 2x bare p95:   {_fmt(p95, 'x', 2)}  {'MET' if p95 <= 2 else 'MISSED'}")
    print(f"goal: zero lost chunks:         {lost} lost  {'MET' if lost == 0 else 'MISSED'}")


# --- Environment and processes ---------------------------------------------------------


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.run_id = f"bench{os.getpid()}"
        self.tmp = Path(tempfile.mkdtemp(prefix="stream-bench-"))
        self.env: dict[str, str] = {}
        self.redis: Any = None
        self.children: dict[str, subprocess.Popen[bytes]] = {}
        self.publisher: Publisher | None = None
        self.keep_tmp = args.keep
        self.csrf_token = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(32))

    def setup_env(self) -> None:
        env = {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DJANGO_DEBUG": "0",
            "SECRET_KEY": secrets.token_urlsafe(40),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SECURE_COOKIES": "0",
            "LLM_MODEL": "scripted/default",
            "LLM_FALLBACK_MODELS": "",
            "VAR_DIR": str(self.tmp / "var"),
            "CELERY_QUEUE": self.run_id,
            "CHANNELS_PREFIX": self.run_id,
            "CACHE_PREFIX": self.run_id,
            "TOKENIZERS_PARALLELISM": "false",
            "PYTHONUNBUFFERED": "1",
        }
        env["DATABASE_URL"] = os.environ.get("DATABASE_URL") or f"sqlite:///{self.tmp / 'bench.sqlite3'}"
        if os.environ.get("REDIS_URL"):
            env["REDIS_URL"] = os.environ["REDIS_URL"]
        else:
            from config.embedded_redis import EmbeddedRedis

            self.redis = EmbeddedRedis(self.tmp / "redis" / "redis.sock")
            self.redis.start()
            env["REDIS_URL"] = self.redis.url
        self.env = {**os.environ, **env}
        os.environ.update(env)
        _log(f"work dir {self.tmp}; database {env['DATABASE_URL']}; redis {env['REDIS_URL']}")

    def migrate(self) -> None:
        with open(self.tmp / "migrate.log", "wb") as log:
            result = subprocess.run(
                [sys.executable, "manage.py", "migrate", "--noinput"],
                cwd=BASE_DIR,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                check=False,
            )
        if result.returncode:
            raise BenchError(f"migrate failed; see {self.tmp / 'migrate.log'}")

    def create_fixtures(self) -> tuple[list[Target], list[Target]]:
        """N + 1 conversations per path (the first one warms up), one user per pair."""
        import django

        django.setup()
        from datetime import timedelta

        from django.contrib.auth import get_user_model
        from django.db import connections
        from django.test import Client as DjangoClient
        from django.utils import timezone

        from accounts.models import Account, Membership
        from agents.services import agent_ensure_default
        from conversations.models import Conversation, Message

        account = Account.objects.create(slug=self.run_id, name="Stream bench")
        agent = agent_ensure_default(account=account)
        full: list[Target] = []
        bare: list[Target] = []
        for index in range(self.args.concurrency + 1):
            user = get_user_model().objects.create(username=f"{self.run_id}-{index}")
            Membership.objects.create(user=user, account=account)
            browser = DjangoClient()
            browser.force_login(user)
            session_key = browser.cookies["sessionid"].value
            conversation = Conversation.objects.create(account=account, user=user, agent=agent)
            full.append(Target(conversation.pk, session_key))
            conversation = Conversation.objects.create(account=account, user=user, agent=agent)
            message = Message.objects.create(
                conversation=conversation,
                role=Message.Role.ASSISTANT,
                status=Message.Status.STREAMING,
                content="",
                agent=agent,
                attempts=1,
                lease_expires_at=timezone.now() + timedelta(days=1),  # never "orphaned"
            )
            bare.append(Target(conversation.pk, session_key, message.pk))
        connections.close_all()  # leave the database to daphne and the worker
        return full, bare

    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen[bytes]:
        with open(self.tmp / f"{name}.log", "ab") as log:
            process = subprocess.Popen(
                [sys.executable, *args],
                cwd=BASE_DIR,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own group: stopping it takes the pool too
            )
        self.children[name] = process
        return process

    def start_web(self) -> None:
        import httpx

        web = self._spawn(
            "daphne",
            ["-m", "daphne", "-b", "127.0.0.1", "-p", str(self.args.port), "config.asgi:application"],
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if web.poll() is not None:
                raise BenchError(f"daphne exited with {web.returncode}; see {self.tmp / 'daphne.log'}")
            try:
                if (
                    httpx.get(f"http://127.0.0.1:{self.args.port}/accounts/login/", timeout=2).status_code
                    == 200
                ):
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise BenchError(f"daphne did not answer; see {self.tmp / 'daphne.log'}")

    def start_worker(self) -> None:
        hostname = f"{self.run_id}@{socket.gethostname()}"
        worker = self._spawn(
            "worker",
            [
                "-m", "celery", "-A", "config", "worker", "-n", hostname,
                "--pool", "threads", "--concurrency", str(self.args.concurrency),
                "--loglevel", "INFO", "--without-mingle", "--without-gossip",
            ],
        )  # fmt: skip
        from config.celery import app

        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if worker.poll() is not None:
                raise BenchError(f"worker exited with {worker.returncode}; see {self.tmp / 'worker.log'}")
            if app.control.ping(destination=[hostname], timeout=0.5):
                return
        raise BenchError(f"worker did not answer a ping; see {self.tmp / 'worker.log'}")

    def _pids(self) -> dict[str, int]:
        pids = {name: process.pid for name, process in self.children.items()}
        if self.publisher is not None and self.publisher.process.returncode is None:
            pids["publisher"] = self.publisher.process.pid
        if self.redis is not None and self.redis.process is not None:
            pids["redis"] = self.redis.process.pid
        pids["clients"] = os.getpid()
        return pids

    async def _measure(
        self, kind: str, targets: list[Target], stack: Stack, http: Any, publisher: Publisher | None = None
    ) -> PathStats:
        _log(f"{kind}: warm-up")
        await run_phase(kind, targets[:1], stack, http, self.args, 3, publisher)
        _log(f"{kind}: {len(targets) - 1} conversations x {self.args.chunks} chunks")
        pids = self._pids()
        before, started = {name: cpu_seconds(pid) for name, pid in pids.items()}, time.monotonic()
        clients = await run_phase(kind, targets[1:], stack, http, self.args, self.args.chunks, publisher)
        wall = time.monotonic() - started
        used = {name: cpu_seconds(pid) - before[name] for name, pid in pids.items()}
        stats = analyse(kind, clients, self.args.chunks)
        stats.wall_seconds, stats.cpu_seconds = wall, used
        return stats

    async def run(self, full: list[Target], bare: list[Target]) -> None:
        import httpx

        stack = Stack(self.args.port, self.csrf_token)
        # One HTTP client (one connection pool) for all conversations: creating one each costs
        # ~10 ms of CPU (an SSL context) that would delay the simultaneous POSTs.
        async with httpx.AsyncClient(
            base_url=stack.base_url,
            headers={"X-CSRFToken": stack.csrf_token, "HX-Request": "true", "Origin": stack.base_url},
            limits=httpx.Limits(max_connections=None, max_keepalive_connections=None),
            timeout=120,
        ) as http:
            self.publisher = await Publisher.start(self.env, self.tmp / "publisher.log")
            try:
                await self.publisher.ready()
                bare_stats = await self._measure("bare", bare, stack, http, self.publisher)
            except BaseException:  # interrupted too: stop it while the event loop still runs
                await self.publisher.stop(kill=True)
                raise
            await self.publisher.stop()
            full_stats = await self._measure("full", full, stack, http)
        report(self.args, bare_stats, full_stats)
        errors = bare_stats.errors + full_stats.errors
        if errors:
            raise BenchError(f"{len(errors)} clients failed, e.g. {errors[0]}")

    def cleanup(self) -> None:
        for name, process in self.children.items():
            if process.poll() is None:
                # Celery's cold shutdown for the worker: replies still streaming are of no use.
                os.killpg(process.pid, signal.SIGQUIT if name == "worker" else signal.SIGTERM)
        for process in self.children.values():
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        if self.publisher is not None and self.publisher.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.publisher.process.pid, signal.SIGKILL)
        if self.redis is not None:
            self.redis.stop()
        elif self.env.get("REDIS_URL"):
            self._forget_redis_keys(self.env["REDIS_URL"])
        if self.keep_tmp:
            _log(f"logs and database kept in {self.tmp}")
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def _forget_redis_keys(self, url: str) -> None:
        """On a shared Redis, remove what this run left: its queue, bindings and cache keys."""
        import redis

        try:
            client = redis.Redis.from_url(url)
            names = [self.run_id, f"_kombu.binding.{self.run_id}", f"_kombu.binding_permanent.{self.run_id}"]
            client.delete(*names, *client.scan_iter(f"{self.run_id}:*"))
        except redis.RedisError as exc:
            _log(f"could not remove this run's Redis keys: {exc}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--concurrency", type=int, default=50, help="concurrent conversations (max 200)")
    parser.add_argument("--chunks", type=int, default=40, help="chunks per reply")
    parser.add_argument("--delay", type=float, default=0.05, help="seconds before each chunk")
    parser.add_argument("--port", type=int, default=0, help="daphne's port (default: a free one)")
    parser.add_argument("--timeout", type=float, default=0, help="seconds to wait for a phase's replies")
    parser.add_argument("--keep", action="store_true", help="keep the work dir (logs, database)")
    parser.add_argument("--publisher", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not 1 <= args.concurrency <= MAX_CONCURRENCY:
        parser.error(f"--concurrency must be between 1 and {MAX_CONCURRENCY}")
    if args.chunks < 1 or args.delay < 0:
        parser.error("--chunks must be >= 1 and --delay >= 0")
    args.port = args.port or free_port()
    args.timeout = args.timeout or max(120.0, 4 * args.chunks * args.delay + 60)
    return args


def _interrupt(_signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.publisher:
        return publisher_main()
    sys.path.insert(0, str(BASE_DIR))
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started with SIGINT ignored
    signal.signal(signal.SIGTERM, _interrupt)
    bench = Bench(args)
    try:
        bench.setup_env()
        bench.migrate()
        full, bare = bench.create_fixtures()
        bench.start_web()
        bench.start_worker()
        asyncio.run(bench.run(full, bare))
    except KeyboardInterrupt:
        _log("interrupted")
        return 130
    except BenchError as exc:
        _log(f"error: {exc}")
        bench.keep_tmp = True
        return 1
    except Exception:
        traceback.print_exc()
        bench.keep_tmp = True
        return 1
    finally:
        bench.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
