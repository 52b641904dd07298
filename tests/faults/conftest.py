"""Fault tests: each starts a private stack (tests/support/faults.py) on a Redis of its own, so
killing Redis, a worker or a web process never touches the session's shared stack."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.support.faults import FaultStack, PrivateRedis


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    server = PrivateRedis()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def make_fault_stack(django_db_setup, private_redis) -> Iterator[Callable[..., FaultStack]]:
    """``make_fault_stack(webs=1, workers=1, beat=True, **env)``: started, and stopped after the test."""
    started: list[FaultStack] = []

    def make(
        *, webs: int = 1, workers: int = 1, beat: bool = True, concurrency: int = 4, **env: str
    ) -> FaultStack:
        stack = FaultStack(private_redis, **env)
        started.append(stack)
        stack.start(webs=webs, workers=workers, beat=beat, concurrency=concurrency)
        return stack

    yield make
    for stack in started:
        stack.stop()


@pytest.fixture
def fault_stack(make_fault_stack) -> FaultStack:
    """One daphne, one worker and beat on a private Redis."""
    return make_fault_stack()


@pytest.fixture(scope="package")  # stopped after the last fault test
def _shared_scaled_stack(django_db_setup) -> Iterator[FaultStack]:
    """Two web processes, two workers (one task at a time each) and beat on a Redis of their own,
    shared by the tests that kill a worker or a web process (never Redis): starting four Django
    processes takes most of a minute, and a test only needs the killed one started again."""
    server = PrivateRedis()
    server.start()
    stack = FaultStack(server)
    try:
        stack.start(webs=2, workers=2, concurrency=1)
        yield stack
    finally:
        stack.stop()
        server.stop()


@pytest.fixture
def scaled_stack(_shared_scaled_stack) -> FaultStack:
    """The shared two-of-each stack, with whatever an earlier test killed started again."""
    stack = _shared_scaled_stack
    stack.ensure(webs=2, workers=2, concurrency=1)
    # Flags of an earlier test were flushed with its database: every process reloads its snapshot.
    stack.redis.client().incr(f"{stack.env['CACHE_PREFIX']}:rollout:version")
    return stack
