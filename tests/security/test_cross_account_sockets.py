"""Every websocket route of config/asgi.py, as each of account A's users, against account B's
objects: the handshake is refused. Routes that name no object connect to the user's own
account and never carry B's data."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.test import Client

from config.asgi import application
from tests.security.conftest import LEAK
from tests.security.routes import Route, fill, has_object_parameter

pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = (b"origin", b"http://testserver")


def websocket_routes() -> list[Route]:
    """The patterns of the URLRouter inside the websocket stack, however many layers wrap it."""
    app = application.application_mapping["websocket"]
    while not isinstance(app, URLRouter):
        app = next(getattr(app, name) for name in ("application", "inner", "app") if hasattr(app, name))
    return [Route(route=str(route.pattern), methods=("WS",)) for route in app.routes]


def _cookie(user) -> list[tuple[bytes, bytes]]:
    if user is None:
        return [ORIGIN]
    client = Client()
    client.force_login(user)
    return [ORIGIN, (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())]


async def _received(communicator: WebsocketCommunicator) -> str:
    frames = []
    while not await communicator.receive_nothing(timeout=0.3):
        frames.append(await communicator.receive_from())
    return "".join(frames)


async def test_no_socket_lets_account_a_reach_account_b(tenants):
    a, b = tenants
    routes = websocket_routes()
    assert len(routes) >= 4  # conversations, runs list and run, escalation queue
    problems = []
    for route in routes:
        path = fill(route, b)
        for role in ("anonymous", "member", "operator", "admin"):
            user = None if role == "anonymous" else a.users[role]
            headers = await database_sync_to_async(_cookie)(user)
            communicator = WebsocketCommunicator(application, path, headers=headers)
            connected, _ = await communicator.connect()
            if connected:
                if has_object_parameter(route):
                    problems.append(f"{role} connected to {path}")
                elif LEAK in await _received(communicator):
                    problems.append(f"{role} on {path} received account B's data")
                await communicator.disconnect()
    assert not problems, "\n".join(problems)
