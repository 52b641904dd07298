"""Deploy mode: with DEBUG off and the production settings of the README, the app sends its
security headers, refuses a weak SECRET_KEY, and ``check --deploy`` has nothing to say."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parents[2]
STRONG_KEY = "Zq8-" + "abcdefghijklmnopqrstuvwxyz0123456789" * 2


def production_env(**extra: str) -> dict[str, str]:
    """The environment the README's "Production" section documents, on this run's services."""
    from django.conf import settings

    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DJANGO_DEBUG", "SECURE_COOKIES", "SECRET_KEY", "ALLOWED_HOSTS", "SECURE_SSL_REDIRECT"}
    }
    return {
        **clean,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "SECRET_KEY": STRONG_KEY,
        "ALLOWED_HOSTS": "ops.example.com,testserver",
        "REDIS_URL": settings.REDIS_URL,
        "HEALTHZ_TOKEN": "a-long-random-monitor-token",
        **extra,
    }


def run_python(code: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=120
    )


HEADERS_SCRIPT = """
import json, django
django.setup()
from django.test import Client
client = Client()
secure = client.get("/accounts/login/", secure=True)
plain = client.get("/accounts/login/")
health = client.get("/healthz")
print(json.dumps({
    "secure": {"status": secure.status_code, "headers": dict(secure.headers)},
    "plain": {"status": plain.status_code, "location": plain.get("Location", "")},
    "healthz_plain_status": health.status_code,
}))
"""


@pytest.fixture(scope="module")
def production_responses(django_db_setup) -> dict:
    result = run_python(HEADERS_SCRIPT, production_env(DATABASE_URL=_database_url()))
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def _database_url() -> str:
    from tests.support.stack import database_url

    return database_url()


def test_https_pages_carry_hsts_csp_referrer_and_permissions_policy(production_responses):
    response = production_responses["secure"]
    headers = {name.lower(): value for name, value in response["headers"].items()}
    assert response["status"] == 200
    hsts = headers["strict-transport-security"]
    assert re.search(r"max-age=(\d+)", hsts) and int(re.search(r"max-age=(\d+)", hsts).group(1)) >= 31_536_000
    assert "includeSubDomains" in hsts and "preload" not in hsts
    csp = headers["content-security-policy"]
    directives = {part.split()[0]: part.split()[1:] for part in csp.split(";") if part.strip()}
    assert directives["script-src"] == ["'self'"]
    assert directives["style-src"] == ["'self'"]
    assert directives["default-src"] == ["'self'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert headers["referrer-policy"] == "same-origin"
    assert "camera=()" in headers["permissions-policy"] and "microphone=()" in headers["permissions-policy"]
    assert headers["x-content-type-options"] == "nosniff"


def test_plain_http_is_redirected_to_https_except_the_health_probe(production_responses):
    assert production_responses["plain"]["status"] == 301
    assert production_responses["plain"]["location"].startswith("https://")
    assert production_responses["healthz_plain_status"] in (200, 503)  # answered, not redirected


def test_the_csp_reaches_pages_in_the_test_configuration_too(client):
    csp = client.get("/accounts/login/")["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp


@pytest.mark.parametrize(
    "key",
    ["short-key", "ab" * 40, "django-insecure-" + "abcdefghijklmnopqrstuvwxyz0123456789"],
    ids=["shorter-than-50", "fewer-than-5-different", "django-insecure-prefix"],
)
def test_a_weak_secret_key_is_refused_at_start_up(key):
    result = run_python("import django; django.setup()", production_env(SECRET_KEY=key))
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and "SECRET_KEY is too weak" in result.stderr


def test_a_weak_secret_key_is_fine_for_local_development():
    env = production_env(SECRET_KEY="short", DJANGO_DEBUG="1")
    assert run_python("import django; django.setup()", env).returncode == 0


def test_check_deploy_is_clean_with_the_documented_production_settings():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR,
        env=production_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNINGS" not in result.stdout + result.stderr


def test_check_deploy_names_hsts_and_the_redirect_when_https_is_switched_off():
    """The switch tests use (SECURE_COOKIES=0) really turns them off, so production must not set it."""
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        cwd=BASE_DIR,
        env=production_env(SECURE_COOKIES="0"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "security.W004" in result.stderr + result.stdout
    assert "security.W008" in result.stderr + result.stdout


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I)
EVENT_HANDLER = re.compile(r"\son[a-z]+\s*=", re.I)
STYLE_ATTRIBUTE = re.compile(r"\sstyle\s*=|<style", re.I)
EVAL_BY_HTMX = re.compile(
    r"\shx-on|hx-(?:vals|headers)=['\"]\s*(?:js|javascript):|hx-trigger=\"[^\"]*\[", re.I
)


def _templates() -> list[Path]:
    found = list((BASE_DIR / "templates").rglob("*.html"))
    for app_templates in BASE_DIR.glob("*/templates"):
        found += list(app_templates.rglob("*.html"))
    return found


@pytest.mark.parametrize(
    ("pattern", "what"),
    [
        (INLINE_SCRIPT, "an inline <script>"),
        (EVENT_HANDLER, "an inline event handler"),
        (STYLE_ATTRIBUTE, "an inline style"),
        (EVAL_BY_HTMX, "htmx code that htmx would eval"),
    ],
)
def test_no_template_needs_what_the_csp_refuses(pattern, what):
    offenders = [
        f"{path.relative_to(BASE_DIR)}: {match.group(0).strip()}"
        for path in _templates()
        for match in pattern.finditer(path.read_text())
    ]
    assert not offenders, f"{what} (blocked by the Content-Security-Policy): {offenders}"
