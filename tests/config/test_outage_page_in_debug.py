"""With DEBUG on (``make run``), a database outage still answers the styled 503, not the debug page.

The database is made really unreachable (SQLite: a file in a directory that does not exist;
PostgreSQL: a port nobody listens on), so the failure comes from the driver like in production.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from django.db import connection
from django.test import Client

pytestmark = pytest.mark.django_db(transaction=True)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def logged_in_client(member) -> Client:
    # Django's test client re-raises a request's exception by default; a browser sees the response.
    client = Client(raise_request_exception=False)
    client.force_login(member)
    return client


@pytest.fixture
def database_unreachable(settings) -> Iterator[None]:
    settings.DEBUG = True
    saved = dict(connection.settings_dict)
    connection.close()
    if connection.vendor == "sqlite":
        connection.settings_dict["NAME"] = "/nonexistent-directory-for-the-outage-test/db.sqlite3"
    else:
        connection.settings_dict.update(HOST="127.0.0.1", PORT=str(_closed_port()))
    yield
    connection.close()
    connection.settings_dict.clear()
    connection.settings_dict.update(saved)


def test_a_page_answers_the_styled_503_naming_the_database_with_debug_on(
    logged_in_client, database_unreachable
):
    response = logged_in_client.get("/chat/")
    assert response.status_code == 503
    assert response["Retry-After"]
    page = response.content.decode()
    assert "The database is not reachable at the moment." in page
    assert "Traceback" not in page and "technical_500" not in page


def test_the_api_answers_json_naming_the_database_with_debug_on(logged_in_client, database_unreachable):
    response = logged_in_client.get("/api/conversations/")
    assert response.status_code == 503
    assert response.json()["failing"] == ["database"]


def test_without_an_outage_debug_still_shows_django_s_own_pages(logged_in_client, settings):
    settings.DEBUG = True
    response = logged_in_client.get("/no-such-page-anywhere/")
    assert response.status_code == 404
