"""Each dependency the app needs to answer a chat message, checked cheaply."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import redis
from celery import current_app
from django.conf import settings
from django.db import connection


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


def check_database() -> Check:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return Check("database", True, connection.vendor)
    except Exception as exc:  # any failure means "down", and the reason is the detail
        return Check("database", False, str(exc)[:200])


def check_redis() -> Check:
    try:
        client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
        client.ping()
        return Check("redis", True, "ping ok")
    except Exception as exc:
        return Check("redis", False, str(exc)[:200])


def check_worker() -> Check:
    """A worker counts only if it consumes this app's queue: a worker of another app, or of
    another test run, on the same Redis answers a plain ping too but would never run our tasks."""
    queue = settings.CELERY_TASK_DEFAULT_QUEUE
    try:
        consuming = current_app.control.inspect(timeout=1.0).active_queues() or {}
    except Exception as exc:
        return Check("worker", False, str(exc)[:200])
    ours = [name for name, queues in consuming.items() if any(q.get("name") == queue for q in queues or [])]
    if not ours:
        return Check("worker", False, f"no Celery worker on queue {queue!r} answered within 1 s")
    return Check("worker", True, f"{len(ours)} worker(s) answered")


def check_model() -> Check:
    from agents.llm.gateway import model_health

    health = model_health()
    return Check("model", health.ok, f"{health.model}: {health.detail}")


def run_checks(*, detailed: bool = True) -> dict:
    """Liveness: ``status`` and the names of the failing components. ``detailed`` adds each
    check's detail and the escalation queue, in total and per account: for staff and monitors
    with HEALTHZ_TOKEN only, since they name accounts and internal errors."""
    checks = [check_database(), check_redis(), check_worker(), check_model()]
    failing = [c.name for c in checks if not c.ok]
    report = {"status": "ok" if not failing else "error", "failing": failing}
    # A customer's MCP server being down is not the app being down: it is named, and the
    # status stays as the app's own checks say (its tools are withheld meanwhile).
    unhealthy = mcp_unhealthy()
    if unhealthy:
        # Public answers name global servers only; an account's servers are its own business.
        named = sorted({f"mcp:{n}" if detailed or "/" not in n else "mcp:account-server" for n in unhealthy})
        report["degraded"] = named
    if detailed:
        report["checks"] = {c.name: asdict(c) for c in checks}
        report["mcp_servers"] = unhealthy
        report["escalations"] = escalation_queue()
        report["escalations_by_account"] = escalation_queue_by_account()
    return report


def escalation_queue() -> dict:
    """The operator queue at a glance (informational: a long queue is not an outage)."""
    from escalations.selectors import queue_health

    try:
        return queue_health()
    except Exception as exc:  # the database check above already says why
        return {"error": str(exc)[:200]}


def escalation_queue_by_account() -> dict:
    """The queue of each account with any escalation, by account slug."""
    from accounts.models import Account
    from escalations.selectors import queue_health

    try:
        accounts = Account.objects.filter(escalations__isnull=False).distinct().order_by("slug")
        return {account.slug: queue_health(account_id=account.pk) for account in accounts}
    except Exception as exc:
        return {"error": str(exc)[:200]}


def mcp_unhealthy() -> dict[str, str]:
    """Enabled MCP servers whose last health check failed, by name (``<account>/<slug>`` for an
    account's server, the slug alone for a global one), with the last error. Public answers name
    global servers only: an account's servers are its own business."""
    from agents.mcp.selectors import mcp_unhealthy_servers

    try:
        servers = mcp_unhealthy_servers()
    except Exception:  # the database check already says why
        return {}
    return {(f"{s.account.slug}/{s.slug}" if s.account_id else s.slug): s.last_error[:200] for s in servers}
