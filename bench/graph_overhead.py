"""Per-step overhead of our agent graph runtime, beside LangGraph running the same graph.

Both sides run turns of three agent steps on the scripted model (``scripted/default``):

- ours: ``conversations.replies.reply_generate`` called in-process (no Celery worker) on a fresh
  conversation pinned to ``alpha``, whose user message scripts ``alpha -> beta -> gamma`` (two
  hand-offs, ``transfer_to_<agent>`` tool calls) and ``gamma`` answering "done". As in production,
  the turn is checkpointed (``Turn.state``), the reply text is written to the database and events
  are published to Redis. On SQLite (a temporary file) and, when reachable, PostgreSQL (a temporary
  ``bench_graph_<pid>`` database);
- LangGraph: a ``StateGraph`` of three nodes (alpha -> beta -> gamma, routed by the same transfer
  tool calls). Each node calls the model as our runtime does (``agents.llm.gateway.ChatStream`` with
  the same messages, tool specs and metadata: the same litellm path, so the same model cost).
  Compiled with ``SqliteSaver`` on a temporary file (WAL and ``synchronous=NORMAL``, the pragmas our
  SQLite uses) at LangGraph's default durability; for reference also with ``durability="sync"``
  and with no checkpointer. With PostgreSQL, also with ``PostgresSaver`` in the same temporary
  database as ours (``langgraph-checkpoint-postgres``), which our PostgreSQL row is held to.

Each side also replays its own three model calls alone (as recorded in a warm-up turn), once per
round of turns, interleaved with them, so overhead = turn - model calls (p50 - p50), per turn and per
step (/3). Each side runs in its own process (Django reads its database settings once); the parent
runs them in alternating blocks of turns, so load from anything else on the machine falls on every
side alike.
Needs ``pip install -r requirements-bench.txt``. Usage::

    .venv/bin/python bench/graph_overhead.py --turns 200
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import functools
import json
import math
import os
import re
import secrets
import select
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, TypedDict
from urllib.parse import urlsplit, urlunsplit

BASE_DIR = Path(__file__).resolve().parent.parent
AGENTS = ("alpha", "beta", "gamma")
STEPS = len(AGENTS)
ANSWER = "done"
SCRIPT = "@alpha: transfer beta beta knows || @beta: transfer gamma gamma knows || @gamma: say " + ANSWER
DEFAULT_POSTGRES = "postgres://postgres@127.0.0.1:5432/postgres"
LANGGRAPH_VARIANTS = {
    # variant: (row name, checkpointer: "sqlite", "postgres" or None, durability)
    "sqlite": ("LangGraph (SQLite checkpointer)", "sqlite", "async"),  # LangGraph's default durability
    "sqlite_sync": ("  ref: LangGraph, durability=sync", "sqlite", "sync"),
    "none": ("  ref: LangGraph, no checkpointer", None, None),
    "postgres": ("LangGraph (PostgreSQL checkpointer)", "postgres", "async"),
}
# Each of our rows is held to LangGraph's row on the same database.
REFERENCE = {"ours (SQLite)": "sqlite", "ours (PostgreSQL)": "postgres"}


class BenchError(Exception):
    """The benchmark itself could not run."""


def _log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def percentile(values: list[float], pct: float) -> float:
    """Linear interpolation between closest ranks (numpy's default); nan when empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * pct / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def _ms(started_ns: int) -> float:
    return (time.perf_counter_ns() - started_ns) / 1e6


# --- Child processes: one side each, driven by JSON lines on stdin ------------------------


class Samples(TypedDict):
    turn_ms: dict[str, list[float]]  # variant -> wall time per turn
    model_ms: list[float]  # the side's model calls alone, one replay per round of turns


def _setup_django() -> None:
    sys.path.insert(0, str(BASE_DIR))
    import django

    django.setup()


def _replay(calls: list[dict[str, Any]]) -> float:
    """The recorded model calls alone, through the same gateway; milliseconds."""
    from agents.llm.gateway import ChatStream

    started = time.perf_counter_ns()
    for kwargs in calls:
        for _ in ChatStream(**kwargs):
            pass
    return _ms(started)


@dataclass
class Rotation:
    """Runs each job once per round, starting each round one job further on, so that no job
    always runs right after the same other one (garbage collections, caches)."""

    rounds: int = 0

    def run(self, jobs: dict[str, Callable[[], float]], rounds: int) -> dict[str, list[float]]:
        names = list(jobs)
        timings: dict[str, list[float]] = {name: [] for name in names}
        for _ in range(rounds):
            shift = self.rounds % len(names)
            for name in names[shift:] + names[:shift]:
                timings[name].append(jobs[name]())
            self.rounds += 1
        return timings


def _normalise_sql(sql: str) -> str:
    sql = re.sub(r"'(?:[^']|'')*'", "?", sql)
    sql = re.sub(r"\b\d+(\.\d+)?\b", "N", sql)
    return sql if len(sql) <= 150 else sql[:147] + "..."


class OursSide:
    """Our runtime: ``reply_generate`` on a fresh conversation per turn."""

    def __init__(self, run_id: str, warmup: int) -> None:
        _setup_django()
        from django.contrib.auth import get_user_model
        from django.core.management import call_command
        from django.db import connection

        from accounts.models import Account, Membership
        from agents.models import AgentInstance, AgentTemplate
        from agents.services import agent_ensure_default

        self.vendor = connection.vendor
        self.rotation = Rotation()
        _log(f"ours ({self.vendor}): migrating")
        call_command("migrate", interactive=False, verbosity=0)
        self.account = Account.objects.create(slug=run_id, name="Graph bench")
        agent_ensure_default(account=self.account)
        self.user = get_user_model().objects.create(username=run_id)
        Membership.objects.create(user=self.user, account=self.account)
        template = AgentTemplate.objects.create(slug="bench-kind", name="Bench kind")
        self.trio = [
            AgentInstance.objects.create(
                account=self.account, template=template, slug=slug, name=slug.title(),
                system_prompt=f"You are {slug}.",
            )
            for slug in AGENTS
        ]  # fmt: skip
        for agent in self.trio:
            agent.handoff_targets.set([other for other in self.trio if other != agent])
        self.calls = self._record_calls()
        _log(f"ours ({self.vendor}): {warmup} warm-up turns")
        self.measure(warmup)

    def _prepare(self) -> Any:
        """A fresh conversation pinned to alpha, with the question and its pending reply as
        ``message_send`` leaves them (without queueing a Celery task)."""
        from conversations.models import Conversation, Message

        alpha = self.trio[0]
        conversation = Conversation.objects.create(
            account=self.account, user=self.user, agent=alpha, title=SCRIPT[:80]
        )
        question = Message.objects.create(conversation=conversation, role=Message.Role.USER, content=SCRIPT)
        return Message.objects.create(
            conversation=conversation, role=Message.Role.ASSISTANT, status=Message.Status.PENDING,
            agent=alpha, reply_to=question,
        )  # fmt: skip

    def _turn(self) -> float:
        from conversations.replies import reply_generate

        reply = self._prepare()
        started = time.perf_counter_ns()
        reply_generate(message_id=reply.pk)
        elapsed = _ms(started)
        reply.refresh_from_db()
        if reply.status != "complete" or reply.content != ANSWER or reply.agent_id != self.trio[-1].pk:
            raise BenchError(
                f"ours: turn ended {reply.status}, agent {reply.agent_id}: {reply.content!r} {reply.error!r}"
            )
        return elapsed

    def _record_calls(self) -> list[dict[str, Any]]:
        """The model calls of one turn, to replay them alone."""
        import conversations.turns.graph as graph

        calls: list[dict[str, Any]] = []
        original = graph.ChatStream

        class Recording(original):  # type: ignore[misc, valid-type]
            def __init__(self, **kwargs: Any) -> None:
                calls.append(copy.deepcopy(kwargs))
                super().__init__(**kwargs)

        graph.ChatStream = Recording  # type: ignore[misc]
        try:
            self._turn()
        finally:
            graph.ChatStream = original  # type: ignore[misc]
        if len(calls) != STEPS:
            raise BenchError(f"ours: a turn made {len(calls)} model calls, expected {STEPS}")
        return calls

    def measure(self, turns: int) -> Samples:
        timings = self.rotation.run({"default": self._turn, "model": lambda: _replay(self.calls)}, turns)
        return {"turn_ms": {"default": timings["default"]}, "model_ms": timings["model"]}

    def finish(self, turns: int = 20) -> dict[str, Any]:
        """More turns with every statement recorded (not timed as turns): statements, time in the
        database driver, and transactions that write (each one a commit: an fsync on PostgreSQL)."""
        from django.db import connection, transaction

        from conversations.replies import reply_generate

        statements: list[str] = []
        counts = {"ns": 0, "commits": 0, "open": 0}

        def committed() -> None:
            counts["commits"] += 1
            counts["open"] = 0

        def record(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
            started = time.perf_counter_ns()
            try:
                return execute(sql, params, many, context)
            finally:
                counts["ns"] += time.perf_counter_ns() - started
                verb = sql.lstrip().split(None, 1)[0].upper()
                if verb not in {"BEGIN", "SAVEPOINT", "RELEASE", "ROLLBACK"}:
                    statements.append(sql)
                if verb in {"INSERT", "UPDATE", "DELETE"}:
                    if not connection.in_atomic_block:
                        counts["commits"] += 1
                    elif not counts["open"]:
                        counts["open"] = 1
                        transaction.on_commit(committed)

        replies = [self._prepare() for _ in range(turns)]
        with connection.execute_wrapper(record):
            for reply in replies:
                reply_generate(message_id=reply.pk)
        groups = Counter(_normalise_sql(sql) for sql in statements)
        return {
            "queries": len(statements) / turns,
            "query_ms": counts["ns"] / 1e6 / turns,
            "commits": counts["commits"] / turns,
            "query_groups": [[count / turns, sql] for sql, count in groups.most_common()],
        }


class GraphState(TypedDict):
    messages: list[dict[str, Any]]  # the user message and the hand-off transcript
    text: str
    next: str


class LangGraphSide:
    """The same three steps as a LangGraph ``StateGraph``, in each variant."""

    def __init__(self, workdir: Path, warmup: int, postgres_url: str | None) -> None:
        _setup_django()
        import sqlite3

        from langgraph.checkpoint.sqlite import SqliteSaver
        from langgraph.graph import END, START, StateGraph

        self.end = END
        self.rotation = Rotation()
        self.recording: list[dict[str, Any]] | None = None
        builder = StateGraph(GraphState)
        for slug in AGENTS:
            builder.add_node(slug, self._node(slug))  # type: ignore[call-overload]
            builder.add_conditional_edges(slug, self._next, {**{t: t for t in AGENTS if t != slug}, END: END})
        builder.add_edge(START, AGENTS[0])
        self.conn = sqlite3.connect(str(workdir / "langgraph.sqlite3"), check_same_thread=False)
        saver = SqliteSaver(self.conn)
        saver.setup()  # creates the tables, turns WAL on
        self.conn.execute("PRAGMA synchronous=NORMAL")  # as our SQLite settings
        savers: dict[str | None, Any] = {"sqlite": saver, None: None}
        self.pg_conn: Any = None
        if postgres_url:
            import psycopg
            from langgraph.checkpoint.postgres import PostgresSaver
            from psycopg.rows import dict_row

            # The connection PostgresSaver's documentation asks for.
            self.pg_conn = psycopg.connect(
                postgres_url, autocommit=True, prepare_threshold=0, row_factory=dict_row
            )
            savers["postgres"] = PostgresSaver(self.pg_conn)
            savers["postgres"].setup()
        self.variants = {variant: spec for variant, spec in LANGGRAPH_VARIANTS.items() if spec[1] in savers}
        self.graphs = {
            variant: builder.compile(checkpointer=savers[kind])
            for variant, (_, kind, _) in self.variants.items()
        }
        self.threads = 0
        self.recording = []
        self._turn("sqlite")
        self.calls, self.recording = self.recording, None
        if len(self.calls) != STEPS:
            raise BenchError(f"langgraph: a turn made {len(self.calls)} model calls, expected {STEPS}")
        _log(f"langgraph: {warmup} warm-up turns per variant")
        self.measure(warmup)

    @staticmethod
    def _next(state: GraphState) -> str:
        return state["next"]

    def _node(self, slug: str) -> Callable[[GraphState], dict[str, Any]]:
        from agents.llm.gateway import ChatStream
        from agents.models import AgentInstance
        from agents.runtime import toolbox

        targets = [AgentInstance(slug=t, name=t.title()) for t in AGENTS if t != slug]
        tools = [toolbox.transfer_spec(t) for t in targets]

        def node(state: GraphState) -> dict[str, Any]:
            # The call TurnRunner._agent_step makes: system prompt, history, transcript, tool specs.
            kwargs: dict[str, Any] = {
                "messages": [{"role": "system", "content": f"You are {slug}."}, *state["messages"]],
                "account_id": 1,
                "model": None,
                "tools": tools,
                "metadata": {"agent": slug, "agent_step": 1},
            }
            if self.recording is not None:
                self.recording.append(copy.deepcopy(kwargs))
            stream = ChatStream(**kwargs)
            text = state["text"] + "".join(stream)
            if not stream.tool_calls:
                return {"text": text, "next": self.end}
            call = stream.tool_calls[0]
            target = call["name"].removeprefix(toolbox.TRANSFER_PREFIX)
            reason = toolbox.parse_call(call["name"], call["arguments"]).arguments.get("reason", "")
            transcript = [
                {"role": "assistant", "content": None, "tool_calls": [
                    {"id": call["id"], "type": "function",
                     "function": {"name": call["name"], "arguments": call["arguments"] or "{}"}}]},
                {"role": "tool", "tool_call_id": call["id"],
                 "content": json.dumps({"transferred_to": target, "reason": reason})},
            ]  # fmt: skip
            return {"messages": [*state["messages"], *transcript], "text": text, "next": target}

        return node

    def _turn(self, variant: str) -> float:
        _, checkpointed, durability = self.variants[variant]
        self.threads += 1
        config: Any = {"configurable": {"thread_id": f"turn-{self.threads}"}}
        options: dict[str, Any] = {"durability": durability} if checkpointed else {}
        started = time.perf_counter_ns()
        result = self.graphs[variant].invoke(
            {"messages": [{"role": "user", "content": SCRIPT}], "text": "", "next": ""}, config, **options
        )
        elapsed = _ms(started)
        if result["text"] != ANSWER or len(result["messages"]) != 1 + 2 * (STEPS - 1):
            raise BenchError(f"langgraph ({variant}): turn ended with {result!r}")
        return elapsed

    def measure(self, turns: int) -> Samples:
        jobs: dict[str, Callable[[], float]] = {
            variant: functools.partial(self._turn, variant) for variant in self.variants
        }
        timings = self.rotation.run({**jobs, "model": lambda: _replay(self.calls)}, turns)
        return {"turn_ms": {variant: timings[variant] for variant in jobs}, "model_ms": timings["model"]}

    def finish(self) -> dict[str, Any]:
        checkpoints = self.conn.execute("SELECT count(*) FROM checkpoints").fetchone()[0]
        writes = self.conn.execute("SELECT count(*) FROM writes").fetchone()[0]
        self.conn.close()
        if self.pg_conn is not None:
            checkpoints += self.pg_conn.execute("SELECT count(*) AS n FROM checkpoints").fetchone()["n"]
            writes += self.pg_conn.execute("SELECT count(*) AS n FROM checkpoint_writes").fetchone()["n"]
            self.pg_conn.close()
        return {"checkpoints": checkpoints, "writes": writes}


def child_main(args: argparse.Namespace) -> int:
    # Answers go to the real stdout; anything else printed (a library's notice) goes to stderr.
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())

    def answer(payload: dict[str, Any]) -> None:
        answers.write(json.dumps(payload) + "\n")
        answers.flush()

    try:
        side: OursSide | LangGraphSide = (
            OursSide(args.run_id, args.warmup) if args.child == "ours"
            else LangGraphSide(Path(args.workdir), args.warmup, os.environ.get("BENCH_LANGGRAPH_POSTGRES"))
        )  # fmt: skip
        answer({"ready": True})
        for line in sys.stdin:
            command = json.loads(line)
            if command["op"] == "measure":
                answer(dict(side.measure(command["turns"])))
            else:
                answer(side.finish())
                break
    except KeyboardInterrupt:  # Ctrl+C reaches the whole process group: the parent cleans up
        return 130
    except BenchError as exc:
        answer({"error": str(exc)})
        return 1
    except Exception:
        answer({"error": traceback.format_exc()})
        return 1
    return 0


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


# --- The parent: environment, databases, children, report ---------------------------------


class Child:
    """One side's process; ``request`` sends a command and waits for its one-line answer."""

    def __init__(self, name: str, kind: str, env: dict[str, str], args: argparse.Namespace, tmp: Path):
        self.name = name
        command = [
            sys.executable, str(Path(__file__).resolve()), "--child", kind, "--warmup", str(args.warmup),
            "--run-id", f"bench{os.getpid()}", "--workdir", str(tmp),
        ]  # fmt: skip
        self.process = subprocess.Popen(
            command, cwd=BASE_DIR, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0
        )
        self.timeout = args.timeout

    def _read(self) -> dict[str, Any]:
        stdout: IO[bytes] = self.process.stdout  # type: ignore[assignment]
        ready, _, _ = select.select([stdout], [], [], self.timeout)
        if not ready:
            raise BenchError(f"{self.name}: no answer in {self.timeout:.0f} s")
        line = stdout.readline()
        if not line:
            raise BenchError(f"{self.name}: exited with {self.process.wait()}")
        answer = json.loads(line)
        if "error" in answer:
            raise BenchError(f"{self.name}: {answer['error']}")
        return answer

    def ready(self) -> None:
        self._read()

    def request(self, command: dict[str, Any]) -> dict[str, Any]:
        stdin: IO[bytes] = self.process.stdin  # type: ignore[assignment]
        stdin.write((json.dumps(command) + "\n").encode())
        stdin.flush()
        return self._read()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()


@dataclass
class Row:
    name: str
    variant: str = ""  # LangGraph's rows only
    turn_ms: list[float] = field(default_factory=list)
    model_ms: list[float] = field(default_factory=list)
    queries: float | None = None
    query_ms: float | None = None
    commits: float | None = None

    @property
    def overhead_turn_p50(self) -> float:
        return percentile(self.turn_ms, 50) - percentile(self.model_ms, 50)

    @property
    def overhead_step_p50(self) -> float:
        return self.overhead_turn_p50 / STEPS

    @property
    def overhead_step_mean(self) -> float:
        return (statistics.fmean(self.turn_ms) - statistics.fmean(self.model_ms)) / STEPS


@dataclass
class Bench:
    args: argparse.Namespace
    tmp: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="graph-bench-")))
    env: dict[str, str] = field(default_factory=dict)
    redis: Any = None
    children: list[Child] = field(default_factory=list)
    pg_admin_url: str | None = None
    pg_database: str | None = None
    pg_url: str | None = None
    pg_commit_ms: list[float] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    query_groups: list[list[Any]] = field(default_factory=list)

    def setup_env(self) -> None:
        run_id = f"bench{os.getpid()}"
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
            "TOKENIZERS_PARALLELISM": "false",
            "LOG_LEVEL": "WARNING",
        }
        if os.environ.get("REDIS_URL"):
            env["REDIS_URL"] = os.environ["REDIS_URL"]
        else:
            from config.embedded_redis import EmbeddedRedis

            self.redis = EmbeddedRedis(self.tmp / "redis" / "redis.sock")
            self.redis.start()
            env["REDIS_URL"] = self.redis.url
        self.env = {**os.environ, **env}
        _log(f"work dir {self.tmp}; redis {env['REDIS_URL']}")

    def create_postgres(self) -> str | None:
        """A temporary database on the server, or None (and a note) when it cannot be reached."""
        import psycopg
        from psycopg import sql

        url = self.args.postgres
        name = f"bench_graph_{os.getpid()}"
        try:
            with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        except psycopg.Error as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            self.notes.append(f"ours (PostgreSQL): skipped, {url} is not usable: {reason}")
            return None
        self.pg_admin_url, self.pg_database = url, name
        parts = urlsplit(url)
        database_url = urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))
        self.pg_url = database_url
        self.pg_commit_ms = [self._commit_ms(database_url)]
        return database_url

    @staticmethod
    def _commit_ms(database_url: str) -> float:
        import psycopg

        timings: list[float] = []
        with psycopg.connect(database_url, autocommit=True, connect_timeout=5) as conn:
            conn.execute("CREATE TABLE bench_probe (id int PRIMARY KEY, n int)")
            conn.execute("INSERT INTO bench_probe VALUES (1, 0)")
            for _ in range(50):
                started = time.perf_counter_ns()
                conn.execute("UPDATE bench_probe SET n = n + 1 WHERE id = 1")
                timings.append(_ms(started))
            conn.execute("DROP TABLE bench_probe")
        return percentile(timings, 50)

    def drop_postgres(self) -> None:
        if self.pg_admin_url is None or self.pg_database is None:
            return
        import psycopg
        from psycopg import sql

        try:
            with psycopg.connect(self.pg_admin_url, autocommit=True, connect_timeout=5) as conn:
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(self.pg_database)))  # fmt: skip
        except psycopg.Error as exc:
            _log(f"could not drop database {self.pg_database}: {exc}")
        else:
            self.pg_database = None

    def _start(self, name: str, kind: str, database_url: str) -> Child:
        child = Child(name, kind, {**self.env, "DATABASE_URL": database_url}, self.args, self.tmp)
        self.children.append(child)
        child.ready()
        return child

    def run(self) -> list[Row]:
        self.setup_env()
        sides: list[tuple[Child, dict[str, Row]]] = []
        ours = self._start("ours (SQLite)", "ours", f"sqlite:///{self.tmp / 'ours.sqlite3'}")
        sides.append((ours, {"default": Row("ours (SQLite)")}))
        database_url = self.create_postgres() if self.args.postgres else None
        if not self.args.postgres:
            self.notes.append("ours (PostgreSQL): skipped (--postgres '')")
        if database_url is not None:
            child = self._start("ours (PostgreSQL)", "ours", database_url)
            sides.append((child, {"default": Row("ours (PostgreSQL)")}))
        self.env["BENCH_LANGGRAPH_POSTGRES"] = database_url or ""
        graph = self._start("langgraph", "langgraph", f"sqlite:///{self.tmp / 'unused.sqlite3'}")
        graph_rows = {
            variant: Row(name, variant=variant)
            for variant, (name, kind, _) in LANGGRAPH_VARIANTS.items()
            if kind != "postgres" or database_url
        }
        sides.append((graph, graph_rows))

        done, block = 0, self.args.block
        _log(f"measuring {self.args.turns} turns per row in blocks of {block}, sides alternating")
        while done < self.args.turns:
            turns = min(block, self.args.turns - done)
            # Rotate who goes first, so no side always runs right after another.
            order = sides[done // block % len(sides) :] + sides[: done // block % len(sides)]
            for child, rows in order:
                samples = child.request({"op": "measure", "turns": turns})
                for variant, row in rows.items():
                    row.turn_ms += samples["turn_ms"][variant]
                    row.model_ms += samples["model_ms"]
            done += turns
        for child, rows in sides:
            extra = child.request({"op": "finish"})
            if "queries" in extra:
                row = rows["default"]
                row.queries, row.query_ms, row.commits = extra["queries"], extra["query_ms"], extra["commits"]
                if child is ours:
                    self.query_groups = extra["query_groups"]
            if "checkpoints" in extra:
                self.notes.append(
                    f"LangGraph: {extra['checkpoints']} checkpoints and {extra['writes']} pending writes "
                    "saved in all (its SQLite variants share one saver; PostgreSQL has its own)"
                )
        if self.pg_url is not None:
            self.pg_commit_ms.append(self._commit_ms(self.pg_url))
            before, after = self.pg_commit_ms
            self.notes.append(
                f"PostgreSQL: a one-row UPDATE in its own transaction (the WAL flush every write transaction "
                f"waits for) takes {before:.2f} ms p50 before the run, {after:.2f} ms after it (this server)"
            )
        return [row for _, rows in sides for row in rows.values()]

    def cleanup(self) -> None:
        for child in self.children:
            child.stop()
        self.drop_postgres()
        if self.redis is not None:
            with contextlib.suppress(Exception):
                self.redis.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)


def _fmt(value: float | None, digits: int = 2) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:.{digits}f}"


def _ratio(value: float, reference: float) -> float:
    return value / reference if reference > 0 else math.nan


def report(
    args: argparse.Namespace, rows: list[Row], notes: list[str], query_groups: list[list[Any]]
) -> None:
    by_variant = {row.variant: row for row in rows if row.variant}

    def reference(row: Row) -> Row:
        return by_variant.get(REFERENCE.get(row.name, "sqlite"), by_variant["sqlite"])

    print(
        f"\ngraph overhead: {args.turns} turns of {STEPS} agent steps per row, after {args.warmup} warm-up "
        f"turns (scripted model, cpus={os.cpu_count()}); times in ms; ovh = turn - the same model calls alone"
    )
    print(f"{'':36}{'turn':>9}{'turn':>9}{'model':>10}{'ovh/turn':>10}{'ovh/step':>10}{'ovh/step':>10}"
          f"{'ovh/step':>10}{'queries':>9}{'commits':>9}")  # fmt: skip
    print(f"{'':36}{'p50':>9}{'mean':>9}{'3 calls':>10}{'p50':>10}{'p50':>10}{'mean':>10}{'/ LG':>10}"
          f"{'/turn':>9}{'/turn':>9}")  # fmt: skip
    for row in rows:
        print(
            f"{row.name:36}{_fmt(percentile(row.turn_ms, 50)):>9}{_fmt(statistics.fmean(row.turn_ms)):>9}"
            f"{_fmt(percentile(row.model_ms, 50)):>10}{_fmt(row.overhead_turn_p50):>10}"
            f"{_fmt(row.overhead_step_p50):>10}{_fmt(row.overhead_step_mean):>10}"
            f"{_fmt(_ratio(row.overhead_step_p50, reference(row).overhead_step_p50)) + 'x':>10}"
            f"{_fmt(row.queries, 0):>9}{_fmt(row.commits, 0):>9}"
        )
    print()
    for row in rows:
        if row.queries is not None:
            print(
                f"{row.name}: per turn {_fmt(row.queries, 0)} SQL statements in {_fmt(row.commits, 0)} "
                f"write transactions, {_fmt(row.query_ms)} ms in the database driver (20 more turns recorded)"
            )
    for note in notes:
        print(note)
    if args.show_queries:
        print("\nSQL statements per turn, ours (SQLite):")
        for count, sql_text in query_groups:
            print(f"{count:4.0f}  {sql_text}")
    print()
    for row in rows:
        if row.name in REFERENCE:
            langgraph = reference(row)
            met = "MET" if row.overhead_step_p50 <= langgraph.overhead_step_p50 else "MISSED"
            print(
                f"goal: ours at or below LangGraph on the same database (per-step overhead p50), "
                f"{row.name} vs {langgraph.name.strip()}: "
                f"{_fmt(row.overhead_step_p50)} vs {_fmt(langgraph.overhead_step_p50)} ms "
                f"({_fmt(_ratio(row.overhead_step_p50, langgraph.overhead_step_p50))}x)  {met}"
            )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--turns", type=int, default=200, help="measured turns per row (default 200)")
    parser.add_argument("--warmup", type=int, default=20, help="warm-up turns per side (default 20)")
    parser.add_argument("--block", type=int, default=10, help="turns per side before switching (default 10)")
    parser.add_argument(
        "--postgres", default=DEFAULT_POSTGRES,
        help=f"server for the PostgreSQL run (default {DEFAULT_POSTGRES}); '' skips it",
    )  # fmt: skip
    parser.add_argument("--timeout", type=float, default=600, help="seconds allowed for one block")
    parser.add_argument("--show-queries", action="store_true", help="print the SQL of one turn (SQLite)")
    parser.add_argument("--child", choices=["ours", "langgraph"], help=argparse.SUPPRESS)
    parser.add_argument("--run-id", default="bench", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.turns < 1 or args.warmup < 0 or args.block < 1:
        parser.error("--turns and --block must be at least 1, --warmup at least 0")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        return child_main(args)
    sys.path.insert(0, str(BASE_DIR))
    signal.signal(signal.SIGTERM, _interrupt)
    bench = Bench(args)
    try:
        rows = bench.run()
        report(args, rows, bench.notes, bench.query_groups)
    except BenchError as exc:
        _log(f"failed: {exc}")
        return 1
    except KeyboardInterrupt:
        _log("interrupted")
        return 130
    except Exception:
        traceback.print_exc()
        return 1
    finally:
        # A second Ctrl+C (or a signal sent to the process and to its group) must not cut cleanup short.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        bench.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
