"""Rate-limit counters live in Redis for the whole test run, and SQLite reuses primary keys after
a rollback: tests of the limits start from zero counters."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from django.conf import settings


def rate_limit_keys_delete() -> None:
    client = redis.Redis.from_url(settings.REDIS_URL)
    prefix = settings.CACHES["default"]["KEY_PREFIX"]
    # Our counters (rl:) and django-axes' failure counts (axes-), in this run's key prefix only.
    for pattern in (f"{prefix}:*:rl:*", f"{prefix}:*:axes-*"):
        keys = list(client.scan_iter(match=pattern, count=500))
        if keys:
            client.delete(*keys)


@pytest.fixture
def fresh_rate_limits() -> Iterator[None]:
    rate_limit_keys_delete()
    yield
    rate_limit_keys_delete()
