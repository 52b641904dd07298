"""`make run` on a fresh clone starts quietly: migrate, seed_demo and config.stack, as the Makefile
runs them, on an empty VAR_DIR with no DATABASE_URL or REDIS_URL, print no warning and no
traceback from the first command until Ctrl+C has stopped everything."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.support.stack import BASE_DIR, free_port

# Three cold Django starts and a model load: about a minute alone, several on a busy machine.
pytestmark = [pytest.mark.stack, pytest.mark.timeout(600)]

# What a developer's shell has; nothing the test run set (its database, Redis, prefixes, model).
PASSED_THROUGH = re.compile(r"PATH|HOME|USER|LANG|LC_\w+|TMPDIR|TERM|TZ|HF_\w+|TRANSFORMERS_\w+")
# Celery warns when its worker runs as root (CI containers); a developer's shell is not root.
ROOT_ONLY = "SecurityWarning: You're running the worker with superuser privileges"
# "terminate called" is a native thread aborting its process at exit.
PROBLEM = re.compile(r"WARNING|Warning|Traceback|terminate called")


def _fresh_clone_env(var_dir: Path, port: int) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if PASSED_THROUGH.fullmatch(name)}
    # DJANGO_DEBUG=1 is what the Makefile passes to every command.
    return env | {"VAR_DIR": str(var_dir), "PORT": str(port), "DJANGO_DEBUG": "1"}


def _manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=240,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout
    return result.stdout


def _wait_until_healthy(base_url: str, stack: subprocess.Popen, timeout: float = 150) -> None:
    deadline = time.monotonic() + timeout
    healthz = None
    while time.monotonic() < deadline and stack.poll() is None:
        try:
            # The login page first: a /healthz asked while the worker still starts is a 503, which
            # Django logs; make run itself never asks.
            if httpx.get(f"{base_url}/accounts/login/", timeout=5).status_code == 200:
                healthz = httpx.get(f"{base_url}/healthz", timeout=10)
                if healthz.status_code == 200:
                    return
        except httpx.HTTPError:
            pass
        time.sleep(3)
    raise AssertionError(f"the stack did not become healthy: {healthz and healthz.text}")


def test_make_run_on_a_fresh_clone_prints_no_warning_and_no_traceback(tmp_path):
    var_dir, port = tmp_path / "var", free_port()
    env = _fresh_clone_env(var_dir, port)
    output = _manage(env, "migrate", "--noinput") + _manage(env, "seed_demo")
    log_path = tmp_path / "stack.log"
    with log_path.open("wb") as log:
        # A session of its own, so Ctrl+C can be sent as a terminal does: to the whole group.
        stack = subprocess.Popen(
            [sys.executable, "-m", "config.stack"],
            cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        try:
            _wait_until_healthy(f"http://127.0.0.1:{port}", stack)
            # And until the worker has loaded its models, whose loading printed a progress bar.
            deadline = time.monotonic() + 180
            while "models warmed up" not in log_path.read_text() and time.monotonic() < deadline:
                assert stack.poll() is None, log_path.read_text()
                time.sleep(1)
        finally:
            if stack.poll() is None:
                os.killpg(stack.pid, signal.SIGINT)
            try:
                stack.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(stack.pid, signal.SIGKILL)
                stack.wait()
    output += log_path.read_text()

    assert "Demo account 'demo'" in output
    assert "[stack] stopped" in output and "models warmed up" in output
    problems = [line for line in output.splitlines() if PROBLEM.search(line) and ROOT_ONLY not in line]
    assert problems == [], output
    assert stack.returncode == 0, output
