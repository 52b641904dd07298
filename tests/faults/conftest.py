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
