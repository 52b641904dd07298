"""The readiness report of an account: is it ready to serve more users with the multi-agent system?

Each check returns pass, warn or fail with its evidence, or n/a when it does not apply where the app
runs (check --deploy on a development server with DEBUG on): n/a checks say why and are left out
of the total. Score = checks passed / applicable checks x 100;
the status bands are the agent-manager guide's: 90-100 PRODUCTION_READY, 70-89 PARTIALLY_READY,
below 70 NOT_READY when any check failed and NEEDS_ATTENTION when only warnings held it back.
A report is kept (``ReadinessReport``) so the rollout gate "readiness" reads the evidence the admin
saw, and it downloads as Markdown or JSON."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import timedelta
from pathlib import Path

from celery import current_app
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core import checks as system_checks
from django.core.exceptions import ValidationError
from django.core.mail import get_connection
from django.utils import timezone
from kombu.exceptions import ChannelError

from accounts.models import Account
from agents.llm.gateway import ChatStream, default_model
from agents.llm.providers import OFFLINE_PROVIDER
from agents.llm.warm import offline_model_loaded
from agents.models import AgentInstance
from analytics.evaluation.selectors import evaluation_latest
from analytics.gates import handoff_counts
from analytics.release.guardrails import beat_seen_at
from analytics.release.models import ReadinessReport
from analytics.selectors.alerts import critical_alerts_open
from analytics.services import _admin_emails
from rollout.gates import Gate, GateContext, GateResult, gate_register

PASS, WARN, FAIL, NA = "pass", "warn", "fail", "n/a"
Status = ReadinessReport.Status

MIN_PASS_RATE = 0.95
MIN_ROUTING_ACCURACY = 0.90
MAX_HANDOFF_RATE = 0.20
HANDOFF_WINDOW_DAYS = 7
BEAT_STALE_SECONDS = 180  # beat sends its guarded-rollout look every minute
QUEUE_WARN, QUEUE_FAIL = 100, 1000
PROBE_PROMPT = "Readiness check: reply with the single word ok."


@dataclass(frozen=True)
class CheckResult:
    key: str
    label: str
    status: str  # pass | warn | fail | n/a
    evidence: str

    def as_dict(self) -> dict:
        return asdict(self)


def readiness_score(results: list[CheckResult]) -> int:
    """Checks passed / applicable checks x 100, rounded down (so 89.9 is 89, not ready); a check
    that is n/a counts neither way."""
    applicable = [r for r in results if r.status != NA]
    if not applicable:
        return 0
    return sum(r.status == PASS for r in applicable) * 100 // len(applicable)


def readiness_status(*, score: int, results: list[CheckResult]) -> str:
    if score >= 90:
        return Status.PRODUCTION_READY
    if score >= 70:
        return Status.PARTIALLY_READY
    if any(r.status == FAIL for r in results):
        return Status.NOT_READY
    return Status.NEEDS_ATTENTION


# --- the checks ------------------------------------------------------------------------------------


def _active_agents(account: Account) -> list[AgentInstance]:
    return list(
        AgentInstance.objects.filter(account=account, status=AgentInstance.Status.ACTIVE)
        .select_related("template", "account")
        .order_by("slug")
    )


def check_agent_configs(account: Account) -> CheckResult:
    key, label = "agent_configs", "Every active agent's configuration is valid"
    agents = _active_agents(account)
    if not agents:
        return CheckResult(key, label, FAIL, "No active agent in the account.")
    invalid = []
    for agent in agents:
        try:
            agent.full_clean()
        except ValidationError as error:
            invalid.append(f"{agent.slug}: {'; '.join(error.messages)}")
    if invalid:
        return CheckResult(
            key, label, FAIL, f"{len(invalid)} of {len(agents)} invalid: " + " | ".join(invalid)
        )
    return CheckResult(
        key, label, PASS, f"{len(agents)} active agents validate: {', '.join(a.slug for a in agents)}."
    )


def check_models_reachable(account: Account) -> CheckResult:
    """A real call through the gateway (litellm) with a tiny prompt, once per distinct model; for the
    offline model, which runs on the workers, the workers' report that they loaded it."""
    key, label = "models_reachable", "Every active agent's model answers"
    models: dict[str, list[str]] = {}
    for agent in _active_agents(account):
        models.setdefault(agent.model or default_model(), []).append(agent.slug)
    if not models:
        return CheckResult(key, label, FAIL, "No active agent, so no model to call.")
    evidence, failed, fell_back = [], 0, 0
    for model, slugs in sorted(models.items()):
        if model.split("/", 1)[0] == OFFLINE_PROVIDER:
            # The offline model runs on the workers: their report that they loaded it is the evidence
            # (loading it here, in the web process, would hold the page for tens of seconds).
            loaded = offline_model_loaded()
            if loaded is None:
                failed += 1
                evidence.append(f"{model} ({', '.join(slugs)}): no worker has reported loading it")
            else:
                at, worker, seconds = loaded
                evidence.append(
                    f"{model}: loaded by the worker on {worker} at {at:%Y-%m-%d %H:%M} UTC in {seconds:g} s"
                )
            continue
        stream = ChatStream(
            messages=[{"role": "user", "content": PROBE_PROMPT}],
            account_id=account.pk,
            model=model,
            metadata={"purpose": "readiness"},
        )
        started = time.monotonic()
        try:
            text = "".join(stream)
        except Exception as exc:  # any failure is the evidence: the model cannot serve the agents
            failed += 1
            evidence.append(f"{model} ({', '.join(slugs)}): failed: {str(exc)[:160]}")
            continue
        elapsed = int((time.monotonic() - started) * 1000)
        answered_by = stream.result.model or model
        if answered_by != model:
            fell_back += 1
            evidence.append(f"{model}: did not answer; fallback {answered_by} did in {elapsed} ms")
        else:
            evidence.append(f"{model} answered {len(text)} characters in {elapsed} ms")
    status = FAIL if failed else WARN if fell_back else PASS
    return CheckResult(key, label, status, "; ".join(evidence) + ".")


def check_worker(account: Account) -> CheckResult:
    key, label = "worker", "A Celery worker answers"
    try:
        replies = current_app.control.ping(timeout=1.0)
    except Exception as exc:
        return CheckResult(key, label, FAIL, f"Ping failed: {str(exc)[:160]}")
    if not replies:
        return CheckResult(key, label, FAIL, "No Celery worker answered a ping within 1 s.")
    names = ", ".join(sorted(name for reply in replies for name in reply))
    return CheckResult(key, label, PASS, f"{len(replies)} worker(s) answered: {names}.")


def check_beat(account: Account) -> CheckResult:
    key, label = "beat", "Celery beat is sending its scheduled tasks"
    seen = beat_seen_at()
    if seen is None:
        return CheckResult(key, label, FAIL, "No beat-scheduled guarded-rollout look has ever run.")
    age = int((timezone.now() - seen).total_seconds())
    if age > BEAT_STALE_SECONDS:
        return CheckResult(
            key, label, FAIL, f"The last beat-scheduled look ran {age} s ago (expected every 60 s)."
        )
    return CheckResult(key, label, PASS, f"The last beat-scheduled look ran {age} s ago.")


def check_queue_depth(account: Account) -> CheckResult:
    key, label = "queue_depth", f"Task queue depth below {QUEUE_WARN}"
    queue = settings.CELERY_TASK_DEFAULT_QUEUE
    try:
        with current_app.connection_for_read() as connection:
            depth = connection.default_channel.queue_declare(queue=queue, passive=True).message_count
    except ChannelError as exc:
        if "NOT_FOUND" not in str(exc):
            return CheckResult(key, label, FAIL, f"Could not read the queue '{queue}': {str(exc)[:160]}")
        depth = 0  # Redis drops an emptied list: no queue key is an empty queue
    except Exception as exc:
        return CheckResult(key, label, FAIL, f"Could not read the queue '{queue}': {str(exc)[:160]}")
    evidence = f"{depth} task(s) waiting in '{queue}'."
    status = PASS if depth < QUEUE_WARN else WARN if depth < QUEUE_FAIL else FAIL
    return CheckResult(key, label, status, evidence)


def check_evaluation_pass_rate(account: Account) -> CheckResult:
    key, label = "evaluation_pass_rate", f"Latest evaluation pass rate >= {MIN_PASS_RATE:.0%}"
    latest = evaluation_latest(account=account)
    if latest is None:
        return CheckResult(key, label, FAIL, "No evaluation run yet.")
    evidence = (
        f"{latest.pass_rate:.1%} ({latest.passed}/{latest.total} cases) in run {latest.run_id} of "
        f"'{latest.dataset}' v{latest.dataset_version}, finished {latest.finished_at:%Y-%m-%d %H:%M} UTC."
    )
    return CheckResult(key, label, PASS if latest.pass_rate >= MIN_PASS_RATE else FAIL, evidence)


def check_routing_accuracy(account: Account) -> CheckResult:
    key, label = "routing_accuracy", f"Latest evaluation routing accuracy >= {MIN_ROUTING_ACCURACY:.0%}"
    latest = evaluation_latest(account=account)
    if latest is None:
        return CheckResult(key, label, FAIL, "No evaluation run yet.")
    if latest.routing_accuracy is None:
        return CheckResult(key, label, FAIL, f"Run {latest.run_id} has no case that expects an agent.")
    evidence = f"{latest.routing_accuracy:.1%} on {latest.routing_total} routed cases (run {latest.run_id})."
    return CheckResult(
        key, label, PASS if latest.routing_accuracy >= MIN_ROUTING_ACCURACY else FAIL, evidence
    )


def check_handoff_rate(account: Account) -> CheckResult:
    key, label = "handoff_rate", f"Hand-off rate < {MAX_HANDOFF_RATE:.0%} (last {HANDOFF_WINDOW_DAYS} days)"
    since = timezone.now() - timedelta(days=HANDOFF_WINDOW_DAYS)
    with_handoff, total = handoff_counts(account=account, since=since)
    if not total:
        return CheckResult(
            key, label, WARN, f"No multi-agent conversation in the last {HANDOFF_WINDOW_DAYS} days."
        )
    rate = with_handoff / total
    evidence = f"{rate:.1%} ({with_handoff}/{total} multi-agent conversations)."
    return CheckResult(key, label, PASS if rate < MAX_HANDOFF_RATE else FAIL, evidence)


def check_critical_alerts(account: Account) -> CheckResult:
    key, label = "critical_alerts", "No open critical alert"
    alerts = critical_alerts_open(account=account)
    if not alerts:
        return CheckResult(key, label, PASS, "No critical alert is firing.")
    names = "; ".join(alert.message for alert in alerts[:3])
    return CheckResult(key, label, FAIL, f"{len(alerts)} firing: {names}.")


def check_deploy_settings(account: Account) -> CheckResult:
    key, label = "deploy_settings", "Deployment settings sound (check --deploy)"
    if settings.DEBUG:
        return CheckResult(
            key, label, NA,
            "Not applicable: DEBUG is on, so this is a development server and check --deploy judges "
            "production settings. Run the report with DEBUG off where users are served.",
        )  # fmt: skip
    messages = [
        m
        for m in system_checks.run_checks(include_deployment_checks=True)
        if m.level >= system_checks.WARNING and not m.is_silenced()
    ]
    if messages:
        ids = ", ".join(sorted({m.id or "?" for m in messages}))
        return CheckResult(key, label, FAIL, f"check --deploy reports {len(messages)} issue(s): {ids}.")
    return CheckResult(key, label, PASS, "DEBUG is off and check --deploy reports no issue.")


def check_emails(account: Account) -> CheckResult:
    key, label = "emails", "Emails to admins are deliverable"
    recipients = _admin_emails(account)
    if not recipients:
        return CheckResult(key, label, FAIL, "No admin of the account has an email address.")
    backend = settings.EMAIL_BACKEND.rsplit(".", 2)[-2]
    if backend == "filebased" and settings.DEBUG:
        # On a development server, mail written to files is how it is delivered (README: one file
        # each under var/mail/): deliverable when the directory can be written.
        try:
            connection = get_connection()
            connection.open()
            connection.close()
        except Exception as exc:
            return CheckResult(key, label, FAIL, f"Cannot write mail to {settings.EMAIL_FILE_PATH}: {exc}")
        return CheckResult(
            key, label, PASS,
            f"DEBUG is on: mail for {len(recipients)} admin address(es) is written to "
            f"{settings.EMAIL_FILE_PATH}, one file each (writable). Use SMTP in production.",
        )  # fmt: skip
    if backend != "smtp":
        where = {"filebased": f"written to {settings.EMAIL_FILE_PATH}", "console": "printed to the console"}
        return CheckResult(
            key, label, WARN,
            f"{len(recipients)} admin address(es), but the {backend} backend keeps mail "
            f"{where.get(backend, 'in this process')}: nothing is delivered.",
        )  # fmt: skip
    try:
        connection = get_connection(timeout=5)
        connection.open()
        connection.close()
    except Exception as exc:
        return CheckResult(
            key, label, FAIL, f"SMTP {settings.EMAIL_HOST}:{settings.EMAIL_PORT}: {str(exc)[:160]}"
        )
    return CheckResult(
        key,
        label,
        PASS,
        f"SMTP {settings.EMAIL_HOST}:{settings.EMAIL_PORT} accepts connections; "
        f"{len(recipients)} admin address(es).",
    )


def bench_results_dir() -> Path:
    return Path(settings.VAR_DIR) / "bench"


def check_benchmarks(account: Account) -> CheckResult:
    key, label = "benchmarks", "Benchmark figures recorded"
    files = sorted(bench_results_dir().glob("*.json"))
    if not files:
        return CheckResult(
            key, label, FAIL, f"No benchmark figures in {bench_results_dir()}: run bench/guarded_rollout.py."
        )
    recorded, missed = [], []
    for path in files:
        try:
            figures = json.loads(path.read_text())
        except (OSError, ValueError):
            missed.append(f"{path.name} unreadable")
            continue
        recorded.append(f"{figures.get('bench', path.stem)} ({figures.get('recorded_at', '?')})")
        missed += [goal["goal"] for goal in figures.get("goals", []) if not goal.get("met")]
    evidence = "Recorded: " + ", ".join(recorded) + "."
    if missed:
        return CheckResult(key, label, WARN, evidence + " Goals missed: " + "; ".join(missed) + ".")
    return CheckResult(key, label, PASS, evidence + " Every recorded goal is met.")


CHECKS: tuple[Callable[[Account], CheckResult], ...] = (
    check_agent_configs,
    check_models_reachable,
    check_worker,
    check_beat,
    check_queue_depth,
    check_evaluation_pass_rate,
    check_routing_accuracy,
    check_handoff_rate,
    check_critical_alerts,
    check_deploy_settings,
    check_emails,
    check_benchmarks,
)


def readiness_checks_run(*, account: Account) -> list[CheckResult]:
    return [check(account) for check in CHECKS]


def readiness_report_create(
    *, account: Account, actor: AbstractBaseUser | None, source: str
) -> ReadinessReport:
    """Run every check now and keep the report."""
    results = readiness_checks_run(account=account)
    score = readiness_score(results)
    return ReadinessReport.objects.create(
        account=account,
        created_by=actor,
        source=source,
        score=score,
        status=readiness_status(score=score, results=results),
        checks=[r.as_dict() for r in results],
    )


def readiness_latest(*, account: Account) -> ReadinessReport | None:
    return ReadinessReport.objects.filter(account=account).order_by("-created_at", "-id").first()


def readiness_reports_recent(*, account: Account, limit: int = 10) -> list[ReadinessReport]:
    return list(
        ReadinessReport.objects.filter(account=account).select_related("created_by", "account")
        .order_by("-created_at", "-id")[:limit]
    )  # fmt: skip


def readiness_report_get(*, account: Account, report_id: int) -> ReadinessReport:
    """The account's report (DoesNotExist for another account's: a 404 to the caller)."""
    return ReadinessReport.objects.get(account=account, pk=report_id)


def readiness_as_json(report: ReadinessReport) -> dict:
    return {
        "id": report.pk,
        "account": report.account.slug,
        "created_at": report.created_at.isoformat(),
        "created_by": report.created_by.get_username() if report.created_by else None,
        "score": report.score,
        "status": report.status,
        "passed": sum(c["status"] == PASS for c in report.checks),
        "total": sum(c["status"] != NA for c in report.checks),
        "not_applicable": sum(c["status"] == NA for c in report.checks),
        "checks": report.checks,
    }


def readiness_as_markdown(report: ReadinessReport) -> str:
    def cell(text: str) -> str:
        return str(text).replace("|", "\\|").replace("\n", " ")

    passed = sum(c["status"] == PASS for c in report.checks)
    not_applicable = sum(c["status"] == NA for c in report.checks)
    applicable = len(report.checks) - not_applicable
    by = report.created_by.get_username() if report.created_by else "system"
    lines = [
        f"# Readiness report: {report.account.name}",
        "",
        f"- Status: **{report.status}**",
        f"- Score: {report.score} ({passed} of {applicable} applicable checks passed"
        + (f"; {not_applicable} not applicable)" if not_applicable else ")"),
        f"- Run: {report.created_at:%Y-%m-%d %H:%M} UTC by {by} ({report.get_source_display()})",
        "",
        "| Check | Status | Evidence |",
        "|---|---|---|",
    ]
    lines += [
        f"| {cell(c['label'])} | {c['status'].upper()} | {cell(c['evidence'])} |" for c in report.checks
    ]
    return "\n".join(lines) + "\n"


# --- the rollout gate ------------------------------------------------------------------------------


def readiness_gate(context: GateContext) -> GateResult:
    """Serving more users needs the account's latest readiness report to be PRODUCTION_READY and
    recent (run it on the Readiness page, the API or ``manage.py readiness``)."""
    max_age_hours = float(context.config["max_age_hours"])
    key, label = "readiness", "Readiness report is PRODUCTION_READY"
    report = readiness_latest(account=context.account)
    if report is None:
        return GateResult(
            key, label, False, "no report", "No readiness report yet: run it on the Readiness page."
        )
    figure = f"{report.score} {report.status} ({report.created_at:%Y-%m-%d %H:%M} UTC)"
    age_hours = (timezone.now() - report.created_at).total_seconds() / 3600
    if age_hours > max_age_hours:
        return GateResult(
            key, label, False, figure,
            f"The latest report is {age_hours:.0f} h old (at most {max_age_hours:g} h): run it again.",
        )  # fmt: skip
    if report.status != Status.PRODUCTION_READY:
        failing = [c["label"] for c in report.checks if c["status"] not in {PASS, NA}]
        return GateResult(key, label, False, figure, "Not passed: " + "; ".join(failing) + ".")
    return GateResult(key, label, True, figure, "The latest readiness report is ready.")


def readiness_gate_register() -> None:
    gate_register(
        Gate("readiness", "Readiness report", readiness_gate, defaults={"max_age_hours": 24}, position=50)
    )
