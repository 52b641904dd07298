"""A flag change reaches another process within one second, with no restart: the kill switch,
its release, and a rollback to 0, each seen by a real second Django process."""

from __future__ import annotations

import queue
import subprocess
import sys
import threading
import time

import pytest

from rollout.models import Phase
from rollout.services import flag_rollback, flag_update
from tests.support.stack import BASE_DIR, database_url

pytestmark = pytest.mark.django_db(transaction=True)


class Watcher:
    def __init__(self, account_id: int, user_id: int) -> None:
        import os

        env = {**os.environ, "DATABASE_URL": database_url()}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.rollout.flag_watcher", str(account_id), str(user_id)],
            cwd=BASE_DIR, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        self.lines: queue.Queue[tuple[float, bool]] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            stamp, value = line.split()
            self.lines.put((float(stamp), value == "1"))

    def wait_for(self, value: bool, timeout: float = 30) -> float:
        """The time at which the process first decided ``value``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                stamp, seen = self.lines.get(timeout=1)
            except queue.Empty:
                assert self.process.poll() is None, "the watcher process died"
                continue
            if seen == value:
                return stamp
        raise AssertionError(f"the other process never decided {value}")

    def stop(self) -> None:
        self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def test_a_second_process_sees_each_change_within_one_second(flag, account, member):
    flag_update(flag=flag, account=account, actor=None, reason="all", source="command", phase=Phase.FULL,
                override_gates=True)  # fmt: skip
    watcher = Watcher(account.pk, member.pk)
    try:
        watcher.wait_for(True)  # warm: it decided from its own snapshot
        time.sleep(1.2)  # well past its first version check, so only a real change can flip it

        changed = time.time()
        flag_update(
            flag=flag, account=account, actor=None, reason="incident", source="command", enabled=False
        )
        assert watcher.wait_for(False) - changed < 1.0

        time.sleep(0.3)
        changed = time.time()
        flag_update(flag=flag, account=account, actor=None, reason="fixed", source="command", enabled=True,
                    override_gates=True)  # fmt: skip
        assert watcher.wait_for(True) - changed < 1.0

        time.sleep(0.3)
        changed = time.time()
        flag_rollback(flag=flag, account=account, actor=None, reason="back to 0", source="command")
        assert watcher.wait_for(False) - changed < 1.0
    finally:
        watcher.stop()
