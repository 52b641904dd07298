"""Guessing API tokens from one address stops at a limit: past it, every token from that address
(the right one too) is answered 429 with Retry-After until the window ends."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

from accounts.auth import api_token_create
from tests.support.ratelimits import fresh_rate_limits  # noqa: F401 - a fixture

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_rate_limits")]

BASE_DIR = Path(__file__).resolve().parents[2]
ROUTE = "/api/agentic-workflows"


@pytest.fixture(autouse=True)
def small_limit(settings):
    settings.API_AUTH_FAILURE_LIMIT = 3
    settings.API_AUTH_FAILURE_WINDOW = 300


@pytest.fixture
def right_token(member) -> str:
    return api_token_create(user=member, name="tests")[1]


def call(token: str, address: str = "10.1.0.1"):
    return Client(REMOTE_ADDR=address).get(ROUTE, HTTP_AUTHORIZATION=f"Bearer {token}")


def test_bad_tokens_are_401_until_the_limit_then_429_even_for_the_right_token(right_token):
    for n in range(3):
        response = call(f"guess-{n}")
        assert response.status_code == 401
    refused = call("guess-4")
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 300
    assert "Too many failed authentication attempts" in refused.json()["detail"]

    right = call(right_token)
    assert right.status_code == 429 and "Retry-After" in right


def test_another_address_is_not_affected(right_token):
    for n in range(4):
        call(f"guess-{n}", address="10.1.0.2")
    assert call(right_token, address="10.1.0.3").status_code == 200


def test_right_tokens_do_not_use_up_the_budget(right_token):
    for _ in range(5):
        assert call(right_token).status_code == 200


def test_the_limit_lifts_when_the_window_ends(right_token, settings):
    settings.API_AUTH_FAILURE_WINDOW = 2
    import time

    # Start at the beginning of a window, so the three guesses all land in it.
    time.sleep(2 - time.time() % 2)
    for n in range(3):
        call(f"guess-{n}")
    refused = call(right_token)
    assert refused.status_code == 429
    time.sleep(int(refused["Retry-After"]) + 0.1)
    assert call(right_token).status_code == 200


def test_failures_from_another_process_count_here(right_token):
    """Three failed tokens sent by a separate process (its own Redis connection) lock the address here."""
    script = """
import django
django.setup()
from django.test import Client
for n in range(3):
    response = Client(REMOTE_ADDR="10.1.0.9").get(
        "/api/agentic-workflows", HTTP_AUTHORIZATION=f"Bearer elsewhere-{n}"
    )
    assert response.status_code == 401, response.status_code
"""
    from tests.support.stack import database_url

    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=BASE_DIR,
        env={**os.environ, "DATABASE_URL": database_url(), "API_AUTH_FAILURE_LIMIT": "3"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert call(right_token, address="10.1.0.9").status_code == 429
