"""Links in emails lead to where the server really runs: SITE_URL follows HOST and PORT unless set."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from config.settings import site_url_default

BASE_DIR = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("host", "port", "url"),
    [
        ("127.0.0.1", "8000", "http://127.0.0.1:8000"),
        ("localhost", "8010", "http://localhost:8010"),
        ("0.0.0.0", "9000", "http://127.0.0.1:9000"),  # noqa: S104 - every interface: this machine
        ("::", "9000", "http://127.0.0.1:9000"),
        ("::1", "9000", "http://[::1]:9000"),
        ("ops.example.com", "80", "http://ops.example.com:80"),
    ],
)
def test_the_default_site_url_is_the_bound_address(host, port, url):
    assert site_url_default(host, port) == url


def _site_url(**env: str) -> str:
    """SITE_URL as a freshly started process (the worker that sends the emails) computes it."""
    environ = {k: v for k, v in os.environ.items() if k not in {"SITE_URL", "HOST", "PORT"}}
    result = subprocess.run(
        [sys.executable, "-c", "from config import settings; print(settings.SITE_URL)"],
        cwd=BASE_DIR,
        env={**environ, "DJANGO_DEBUG": "1", **env},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return result.stdout.strip()


def test_site_url_follows_port_and_host_and_an_explicit_value_wins():
    assert _site_url() == "http://127.0.0.1:8000"
    assert _site_url(PORT="8010") == "http://127.0.0.1:8010"
    assert _site_url(HOST="0.0.0.0", PORT="8010") == "http://127.0.0.1:8010"  # noqa: S104
    assert _site_url(PORT="8010", SITE_URL="https://ops.example.com") == "https://ops.example.com"
