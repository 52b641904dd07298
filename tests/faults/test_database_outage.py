"""PostgreSQL unreachable for 30 s while a reply streams: pages answer a styled 503, /healthz and the
API name the database (JSON), the reply is not failed, and once the database is back the recovery
scan resumes it from its checkpoint, every word once.

The outage needs a PostgreSQL of its own (never the machine's shared one): the outer test starts a
private server (pgserver) and runs the inner test in a child pytest whose test database lives on it,
so the inner test can stop and start that server (pg_ctl) under a running reply."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

import pytest
from django.apps import apps as django_apps
from django.db import connections
from django.test import Client, override_settings

from conversations.models import Message
from conversations.replies import reply_generate
from conversations.services import conversation_start, message_send
from tests.support.faults import counted_words

ROOT = Path(__file__).resolve().parents[2]
PGDATA = os.environ.get("FAULT_PRIVATE_PGDATA", "")
DOWN_SECONDS = float(os.environ.get("FAULT_DATABASE_DOWN_SECONDS", "30"))
WORDS = 400


@pytest.mark.skipif(bool(PGDATA), reason="the outer test; this process is its child")
def test_a_database_outage_on_a_private_postgresql(tmp_path):
    pgserver = pytest.importorskip("pgserver", reason="pgserver is in requirements-dev.txt")
    server = pgserver.get_server(str(tmp_path), cleanup_mode="stop")
    try:
        env = {
            **os.environ,
            "DATABASE_URL": f"postgres://postgres@{urllib.parse.quote(str(tmp_path), safe='')}/postgres",
            "FAULT_PRIVATE_PGDATA": str(tmp_path),
        }
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs", __file__],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
    finally:
        server.cleanup()
        # The child started it again after the outage: stop it, whoever started it last.
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            _pg_ctl("-m", "fast", "-w", "stop", pgdata=tmp_path)
    summary = result.stdout[-4000:]
    assert result.returncode == 0, summary + result.stderr[-2000:]
    assert "1 passed" in summary.splitlines()[-1], summary


def _pg_ctl(*args: str, pgdata: Path | None = None) -> None:
    import pgserver

    user = "pgserver" if os.geteuid() == 0 else None  # pgserver runs PostgreSQL as this user under root
    pgserver.pg_ctl(list(args), pgdata=pgdata or Path(PGDATA), user=user)


def _database_up() -> None:
    import pgserver

    server = pgserver.get_server(PGDATA, cleanup_mode=None)  # starts it again, same socket
    assert server.get_pid() is not None


# Every app, so the flush after the test may truncate with CASCADE (pgvector's tables reference
# the knowledge tables on this server).
ALL_APPS = [config.name for config in django_apps.get_app_configs()]


@pytest.mark.skipif(not PGDATA, reason="runs in the child pytest on the private PostgreSQL")
@pytest.mark.django_db(transaction=True, available_apps=ALL_APPS)
@override_settings(REPLY_LEASE_SECONDS=2)
def test_inner_the_database_goes_away_mid_reply_and_the_reply_resumes(account, member):
    conversation = conversation_start(account=account, user=member)
    # Queued to a queue no worker reads: the thread below is this reply's worker.
    question, reply = message_send(
        conversation=conversation, user=member, content=f"count={WORDS} delay=0.02"
    )
    client = Client(raise_request_exception=False)
    client.force_login(member)
    outcome: list[BaseException | None] = []

    def worker() -> None:
        try:
            reply_generate(message_id=reply.pk)
            outcome.append(None)
        except BaseException as error:  # what the Celery task would see (and retry)
            outcome.append(error)
        finally:
            connections.close_all()

    thread = threading.Thread(target=worker)
    thread.start()
    deadline = time.monotonic() + 30
    while Message.objects.get(pk=reply.pk).content.count(" ") < 40 and time.monotonic() < deadline:
        time.sleep(0.05)
    connections.close_all()

    _pg_ctl("-m", "fast", "-w", "stop")
    try:
        thread.join(30)
        assert outcome and outcome[0] is not None, "the reply did not notice the database was gone"
        page = client.get(f"/chat/{conversation.pk}/")
        health = client.get("/healthz")
        api = client.post(
            "/api/chat/message",
            data={"message": "hello"},
            content_type="application/json",
            HTTP_AUTHORIZATION="Bearer not-checked-while-the-database-is-down",
        )
        time.sleep(max(0.0, DOWN_SECONDS - 2))
    finally:
        _database_up()
    connections.close_all()

    assert page.status_code == 503 and page["Retry-After"]
    assert "Back in a moment" in page.content.decode() and "database" in page.content.decode()
    assert "Traceback" not in page.content.decode()
    assert health.status_code == 503 and health.json()["failing"] == ["database"]
    assert api.status_code == 503 and api.json()["failing"] == ["database"]

    stuck = Message.objects.get(pk=reply.pk)
    assert stuck.status == "streaming"  # not failed: the outage is not the reply's fault
    time.sleep(2.5)  # its lease runs out, as beat's scan would find it
    from config.celery import app
    from durable import recover_all

    app.conf.task_always_eager = True  # the re-sent task runs here, from the reply's last checkpoint
    try:
        recovered = recover_all()
    finally:
        app.conf.task_always_eager = False
    assert reply.pk in recovered["reply"]
    finished = Message.objects.get(pk=reply.pk)
    assert finished.status == "complete", finished.error
    assert finished.content == counted_words(WORDS)
    assert finished.interruptions == 1
    assert list(Message.objects.filter(conversation=conversation, role="user")) == [question]
    assert client.get(f"/chat/{conversation.pk}/").status_code == 200
