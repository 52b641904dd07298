"""Loaded with ``-p tests.environment`` before Django reads its settings.

Tests run with DEBUG off, as production does, on the scripted model. When
``REDIS_URL`` is unset they start their own embedded Redis (never the one that
``make run`` uses) and stop it at the end.
"""

from __future__ import annotations

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ["DJANGO_DEBUG"] = "0"
os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production-only-for-the-test-suite-0123456789")
os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
os.environ.setdefault("SECURE_COOKIES", "0")
# Generous limits, so the suite's own bursts never trip them; the rate-limit tests set small
# ones with override_settings.
os.environ.setdefault("LOGIN_FAILURE_LIMIT", "1000")
os.environ.setdefault("API_AUTH_FAILURE_LIMIT", "100000")
os.environ.setdefault("CHAT_SEND_RATE_LIMIT", "100000")
os.environ.setdefault("LLM_MODEL", "scripted/default")
os.environ.setdefault("OFFLINE_MODEL_WORD_DELAY_SECONDS", "0")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# Threads that touch the database in async tests must not keep connections open,
# or PostgreSQL refuses to drop the test database at the end.
os.environ.setdefault("DB_CONN_MAX_AGE", "0")
# Separate queue and prefixes, so a `make run` on the same Redis never sees test traffic.
# Two test runs in one checkout (say, two terminals) must not share a SQLite file either.
_run_id = f"test{os.getpid()}"
_run_defaults = {
    "CELERY_QUEUE": "{run}",
    "CHANNELS_PREFIX": "{run}",
    "CACHE_PREFIX": "{run}",
    "SQLITE_TEST_DB": str(BASE_DIR / "var" / "{run}-db.sqlite3"),
}
# `make test` runs the suite in two pytest-xdist workers, which inherit the environment of the
# process that started them: a value that is that process's default is replaced by this
# worker's own, or both workers' stacks would take each other's tasks from one queue.
_parent_run_id = os.environ.get("TEST_RUN_ID")
for _name, _template in _run_defaults.items():
    _current = os.environ.get(_name)
    if _current is None or (_parent_run_id and _current == _template.format(run=_parent_run_id)):
        os.environ[_name] = _template.format(run=_run_id)
os.environ["TEST_RUN_ID"] = _run_id

_embedded = None
if not os.environ.get("REDIS_URL"):
    from config.embedded_redis import EmbeddedRedis

    _embedded = EmbeddedRedis(BASE_DIR / "var" / _run_id / "redis.sock")
    os.environ["REDIS_URL"] = _embedded.url


def pytest_configure(config) -> None:
    if _embedded is not None:
        _embedded.start()


def pytest_unconfigure(config) -> None:
    if _embedded is not None:
        _embedded.stop()
