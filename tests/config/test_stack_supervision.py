"""`make run`'s supervisor (config/stack.py): a child that dies is started again and the output
says so, with a doubling pause, and a child that keeps dying stops the stack. Real child
processes, killed for real."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from config.stack import Supervisor


def _sleeper() -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])


def _wait_exit(process: subprocess.Popen) -> None:
    process.wait(timeout=10)


def test_a_killed_child_is_restarted_and_the_output_says_so(capsys):
    supervisor = Supervisor(limit=5, window=60, first_backoff=0.1)
    child = supervisor.add("worker", _sleeper)
    try:
        first = child.pid
        os.kill(first, signal.SIGKILL)
        _wait_exit(child.process)
        assert supervisor.check() is None
        assert "worker exited with code -9; restarting it in 0.1 s (restart 1 of at most 5 in 60 s)" in (
            capsys.readouterr().out
        )
        time.sleep(0.15)
        assert supervisor.check() is None
        assert child.pid != first and child.process.poll() is None  # a new, running process
        assert f"restarted worker (pid {child.pid})" in capsys.readouterr().out
    finally:
        supervisor.stop()
    assert child.process.poll() is not None  # stopped with the stack


def test_the_pause_doubles_and_a_crash_looping_child_stops_the_stack(capsys):
    supervisor = Supervisor(limit=2, window=60, first_backoff=0.05)
    crashing = supervisor.add("web", lambda: subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"]))
    steady = supervisor.add("worker", _sleeper)
    try:
        reasons = []
        deadline = time.monotonic() + 20
        while not reasons and time.monotonic() < deadline:
            if crashing.process.poll() is None:
                _wait_exit(crashing.process)
            if reason := supervisor.check():
                reasons.append(reason)
            time.sleep(0.02)
        out = capsys.readouterr().out
        assert "web exited with code 3; restarting it in 0.05 s (restart 1 of at most 2" in out
        assert "web exited with code 3; restarting it in 0.1 s (restart 2 of at most 2" in out
        assert reasons == ["web exited with code 3, 3 times in 60 s: giving up"]
        assert steady.process.poll() is None  # the healthy child was never touched
    finally:
        supervisor.stop()
    assert steady.process.poll() is not None
