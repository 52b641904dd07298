"""Logging in is rate limited per username and per address (django-axes, counted in Redis), and
the counter every other limit uses is shared by all processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.test import Client

from accounts.ratelimit import rate_limit_count, rate_limit_hit
from tests.conftest import PASSWORD
from tests.support.ratelimits import fresh_rate_limits  # noqa: F401 - a fixture

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_rate_limits")]

BASE_DIR = Path(__file__).resolve().parents[2]
LOGIN = "/accounts/login/"


@pytest.fixture(autouse=True)
def small_limits(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast logins
    settings.AXES_FAILURE_LIMIT = 3
    settings.LOGIN_LOCKOUT_SECONDS = 900


def attempt(username: str, password: str, address: str = "10.0.0.1", **headers):
    client = Client(REMOTE_ADDR=address)
    response = client.post(LOGIN, {"username": username, "password": password}, **headers)
    return client, response


def logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def test_the_right_password_is_refused_once_the_username_is_locked(make_user, account):
    make_user(account, username="victim")
    for _ in range(2):
        _, response = attempt("victim", "wrong")
        assert response.status_code == 200  # the form again, with its error
    _, response = attempt("victim", "wrong")
    assert response.status_code == 429

    client, response = attempt("victim", PASSWORD)
    assert response.status_code == 429
    assert not logged_in(client)
    assert response["Retry-After"] == "900"
    page = response.content.decode()
    assert "Too many failed login attempts" in page
    assert 'class="topbar"' in page  # a page in the app's layout, not a bare message


def test_a_locked_username_stays_locked_from_another_address(make_user, account):
    make_user(account, username="victim")
    for _ in range(3):
        attempt("victim", "wrong", address="10.0.0.1")
    client, response = attempt("victim", PASSWORD, address="10.9.9.9")
    assert response.status_code == 429 and not logged_in(client)


def test_an_address_guessing_many_usernames_is_locked_for_every_username(make_user, account):
    make_user(account, username="bystander")
    for name in ("ann", "bob", "cyd"):
        attempt(name, "wrong", address="10.0.0.7")
    client, response = attempt("bystander", PASSWORD, address="10.0.0.7")
    assert response.status_code == 429 and not logged_in(client)
    # The same user from elsewhere is not affected by that address's lock.
    client, response = attempt("bystander", PASSWORD, address="10.0.0.8")
    assert response.status_code == 302 and logged_in(client)


def test_failures_below_the_limit_do_not_stop_the_right_password(make_user, account):
    make_user(account, username="clumsy")
    for _ in range(2):
        attempt("clumsy", "wrong")
    client, response = attempt("clumsy", PASSWORD)
    assert response.status_code == 302 and logged_in(client)


def test_after_the_cool_off_the_right_password_logs_in(make_user, account, settings):
    settings.LOGIN_LOCKOUT_SECONDS = 6  # longer than three password checks on a busy machine
    make_user(account, username="patient")
    for _ in range(3):
        attempt("patient", "wrong")
    assert attempt("patient", PASSWORD)[1].status_code == 429  # and the cool-off starts again
    locked_at = time.monotonic()
    time.sleep(max(0.0, 6.5 - (time.monotonic() - locked_at)))
    client, response = attempt("patient", PASSWORD)
    assert response.status_code == 302 and logged_in(client)


def test_a_lockout_asked_for_as_json_is_json(make_user, account):
    for _ in range(3):
        attempt("scripted", "wrong")
    _, response = attempt("scripted", "wrong", HTTP_ACCEPT="application/json")
    assert response.status_code == 429
    assert response["Content-Type"] == "application/json"
    assert "Too many failed login attempts" in response.json()["detail"]
    assert int(response["Retry-After"]) > 0


def test_login_failures_made_by_another_process_count_here(make_user, account):
    """Two failures in a separate process (its own Redis connections), the third one here locks."""
    make_user(account, username="spread")
    script = """
import django
django.setup()
from django.test import Client
for _ in range(2):
    response = Client(REMOTE_ADDR="10.0.0.44").post(
        "/accounts/login/", {"username": "spread", "password": "wrong"}
    )
    assert response.status_code == 200, response.status_code
"""
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=BASE_DIR,
        env={**os.environ, "DATABASE_URL": _database_url()},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    _, response = attempt("spread", "wrong", address="10.0.0.44")
    assert response.status_code == 429


def _database_url() -> str:
    from tests.support.stack import database_url

    return database_url()


def test_two_processes_count_into_one_window():
    # A day-long window: a minute-long one could end while the second process starts up,
    # and the counts would then land in two windows (seen once in a loaded CI run).
    window = 24 * 3600
    for _ in range(3):
        rate_limit_hit(scope="probe", who="shared", window_seconds=window)
    script = f"""
import django, json
django.setup()
from accounts.ratelimit import rate_limit_hit
print(json.dumps(rate_limit_hit(scope="probe", who="shared", window_seconds={window}).count))
"""
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=BASE_DIR,
        env=os.environ,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == 4
    assert rate_limit_count(scope="probe", who="shared", window_seconds=window).count == 4


def test_a_window_resets_when_it_ends():
    window = rate_limit_hit(scope="probe", who="brief", window_seconds=1)
    assert window.count == 1 and 1 <= window.retry_after <= 1
    time.sleep(window.retry_after + 0.1)
    assert rate_limit_hit(scope="probe", who="brief", window_seconds=1).count == 1
