"""The Runs sockets, through the real ASGI stack and the real Redis channel layer."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from config.asgi import application
from orchestration.models import TaskRun
from orchestration.realtime import publish_run_changed
from orchestration.services import run_create

pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = (b"origin", b"http://testserver")


def _session_cookie(user) -> tuple[bytes, bytes]:
    client = Client()
    client.force_login(user)
    return (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())


@pytest.fixture
def run(account, member, trio):
    return run_create(
        account=account, mode="parallel", tasks=[{"agent": "alpha", "input": "x"}] * 2, started_by=member
    )


async def _connect(path: str, *headers):
    communicator = WebsocketCommunicator(application, path, headers=list(headers))
    connected, _ = await communicator.connect()
    return communicator, connected


async def test_anonymous_and_foreign_sockets_are_refused(run, outsider):
    _, connected = await _connect(f"/ws/runs/{run.pk}/", ORIGIN)
    assert not connected
    cookie = await database_sync_to_async(_session_cookie)(outsider)
    _, connected = await _connect(f"/ws/runs/{run.pk}/", ORIGIN, cookie)
    assert not connected
    # The outsider's own list socket connects but never hears about our runs.
    communicator, connected = await _connect("/ws/runs/", ORIGIN, cookie)
    assert connected
    await database_sync_to_async(publish_run_changed)(account_id=run.account_id, run_id=run.pk)
    assert await communicator.receive_nothing(timeout=0.5)
    await communicator.disconnect()


async def test_the_run_page_socket_re_renders_the_run_when_it_changes(run, member):
    cookie = await database_sync_to_async(_session_cookie)(member)
    communicator, connected = await _connect(f"/ws/runs/{run.pk}/", ORIGIN, cookie)
    assert connected
    first = await communicator.receive_from(timeout=5)  # the re-sync on connect
    assert 'id="run-detail"' in first and 'hx-swap-oob="outerHTML"' in first and 'data-done="0"' in first

    def finish_one():
        TaskRun.objects.filter(run=run, position=0).update(status="completed", result="vendor A is fine")
        publish_run_changed(account_id=run.account_id, run_id=run.pk)

    await database_sync_to_async(finish_one)()
    html = await communicator.receive_from(timeout=5)
    assert 'data-done="1" data-total="2"' in html and "vendor A is fine" in html
    await communicator.disconnect()


async def test_the_list_socket_adds_new_runs_and_updates_known_ones(run, member, account):
    cookie = await database_sync_to_async(_session_cookie)(member)
    communicator, connected = await _connect("/ws/runs/", ORIGIN, cookie)
    assert connected
    resync = await communicator.receive_from(timeout=5)
    assert f'id="run-row-{run.pk}"' in resync and 'hx-swap-oob="outerHTML"' in resync

    newer = await database_sync_to_async(run_create)(
        account=account,
        mode="sequential",
        request="a new one",
        tasks=[{"agent": "beta", "input": "x"}],
        started_by=member,
    )  # run_create publishes on commit
    html = await communicator.receive_from(timeout=5)
    assert 'hx-swap-oob="afterbegin:#run-rows"' in html and f'id="run-row-{newer.pk}"' in html
    assert 'id="run-stats"' not in html

    # When a run ends, its row and the statistics are re-rendered.
    from orchestration.services import run_cancel

    await database_sync_to_async(run_cancel)(run=newer)
    html = await communicator.receive_from(timeout=5)
    assert f'id="run-row-{newer.pk}"' in html and 'data-status="cancelled"' in html
    assert 'id="run-stats" aria-label="Statistics" hx-swap-oob="outerHTML"' in html
    await communicator.disconnect()
