"""Remote-control commands that workers answer, for operators with several of them:
``celery -A config inspect rollout_decision --args '["multi_agent", <account id>, <user id>]'``
shows the rollout decision each worker makes right now from its own flag snapshot, so a flag
change can be seen reaching every worker (the scale-out tests check it within
``ROLLOUT_CHECK_SECONDS``)."""

from __future__ import annotations

from celery.worker.control import inspect_command


@inspect_command(
    args=[("flag", str), ("account_id", int), ("user_id", int)],
    signature="<flag> <account id> <user id>",
)
def rollout_decision(state, flag: str, account_id: int, user_id: int, **_kwargs) -> dict:
    """The decision this worker makes for one user of one account, and its snapshot version."""
    from rollout.decision import decide, snapshot

    decision = decide(flag, user_id=int(user_id), account_id=int(account_id))
    version = snapshot().version
    return {
        "enabled": decision.enabled,
        "shadow": decision.shadow,
        "reason": decision.reason,
        "version": version.decode() if version else None,
    }
