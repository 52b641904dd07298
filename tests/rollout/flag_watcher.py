"""A second process for tests/rollout/test_propagation.py: prints ``<unix time> <0|1>``, the
decision for one user, every 10 ms, until its stdin closes or 60 s pass."""

from __future__ import annotations

import os
import select
import sys
import time


def main() -> None:
    account_id, user_id = int(sys.argv[1]), int(sys.argv[2])
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from rollout.decision import MULTI_AGENT_FLAG, is_enabled

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        enabled = is_enabled(MULTI_AGENT_FLAG, user_id, account_id)
        print(f"{time.time():.6f} {int(enabled)}", flush=True)
        if select.select([sys.stdin], [], [], 0.01)[0] and not sys.stdin.read(1):
            return  # the test closed our stdin


if __name__ == "__main__":
    main()
