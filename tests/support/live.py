"""Helpers for talking to a running stack the way a browser does."""

from __future__ import annotations

import re
import secrets

import httpx
from django.test import Client

FRAME = re.compile(r'<span hx-swap-oob="beforeend:#message-(\d+)-text" data-seq="(\d+)">(.*?)</span>', re.S)


def session_cookies(user) -> dict[str, str]:
    """A logged-in session (stored in the shared database) and a CSRF pair."""
    client = Client()
    client.force_login(user)
    return {"sessionid": client.cookies["sessionid"].value, "csrftoken": secrets.token_hex(16)}


def http_client(base_url: str, user) -> httpx.Client:
    cookies = session_cookies(user)
    return httpx.Client(
        base_url=base_url,
        cookies=cookies,
        headers={"X-CSRFToken": cookies["csrftoken"], "HX-Request": "true"},
        timeout=15,
    )


def ws_headers(base_url: str, client: httpx.Client) -> dict[str, str]:
    cookie = "; ".join(f"{name}={value}" for name, value in client.cookies.items())
    return {"Origin": base_url, "Cookie": cookie}


def off_loop(query):
    """Run a database query from a test that a browser driver's event loop shares
    (Playwright's sync API runs one in the test's thread)."""
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connections

    def run():
        try:
            return query()
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result()


def wait_for(predicate, timeout: float, message: str):
    """Poll ``predicate`` until it returns something truthy; fail with ``message``."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.05)
    raise AssertionError(message)
