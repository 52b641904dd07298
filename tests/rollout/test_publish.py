"""A flag change is published to Redis for the other processes, and skipped without a word when
nothing can be listening: seeding before `make run` has started its embedded Redis."""

from __future__ import annotations

import logging

from rollout import decision


def _version() -> bytes | None:
    return decision._redis().get(decision._version_key())


def test_with_the_embedded_redis_not_running_a_change_publishes_nothing_and_warns_nothing(
    settings, tmp_path, caplog
):
    settings.USES_EMBEDDED_REDIS = True
    settings.EMBEDDED_REDIS_SOCKET = tmp_path / "redis.sock"  # no server: no web or worker either
    before = _version()
    with caplog.at_level(logging.DEBUG, logger="rollout.decision"):
        decision.flags_changed()
    assert caplog.records == []
    assert _version() == before


def test_with_the_embedded_redis_running_a_change_is_published(settings, tmp_path):
    settings.USES_EMBEDDED_REDIS = True
    settings.EMBEDDED_REDIS_SOCKET = tmp_path / "redis.sock"
    settings.EMBEDDED_REDIS_SOCKET.touch()  # a server's socket: processes may be listening
    before = int(_version() or 0)
    decision.flags_changed()
    assert int(_version()) == before + 1
