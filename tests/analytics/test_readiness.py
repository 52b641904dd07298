"""The readiness report: score bands at their boundaries, the checks run for real on an account,
the rollout gate "readiness" that refuses or is overridden with a reason, the page, its downloads,
the JSON API and the command, each scoped to the account."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone

from accounts.models import Membership
from analytics.release.models import ReadinessReport
from analytics.release.readiness import (
    FAIL,
    NA,
    PASS,
    WARN,
    CheckResult,
    check_emails,
    readiness_report_create,
    readiness_score,
    readiness_status,
)
from rollout.decision import MULTI_AGENT_FLAG
from rollout.models import Flag, FlagChange, Phase
from rollout.services import GatesRefused, flag_create, flag_update
from tests.analytics.conftest import _agent

pytestmark = pytest.mark.django_db


def _results(passed: int, warned: int = 0, failed: int = 0) -> list[CheckResult]:
    return (
        [CheckResult(f"p{i}", "p", PASS, "") for i in range(passed)]
        + [CheckResult(f"w{i}", "w", WARN, "") for i in range(warned)]
        + [CheckResult(f"f{i}", "f", FAIL, "") for i in range(failed)]
    )


@pytest.mark.parametrize(
    ("passed", "warned", "failed", "score", "status"),
    [
        (10, 0, 0, 100, "PRODUCTION_READY"),
        (9, 1, 0, 90, "PRODUCTION_READY"),  # 90 exactly is ready
        (9, 0, 1, 90, "PRODUCTION_READY"),
        (17, 2, 0, 89, "PARTIALLY_READY"),  # 89.47: rounded down, not ready
        (7, 0, 3, 70, "PARTIALLY_READY"),  # 70 exactly is partially ready
        (9, 0, 4, 69, "NOT_READY"),  # 69.2 with a failure
        (9, 4, 0, 69, "NEEDS_ATTENTION"),  # 69.2 with warnings only
        (9, 3, 1, 69, "NOT_READY"),  # one failure among the warnings
        (0, 1, 0, 0, "NEEDS_ATTENTION"),
        (0, 0, 1, 0, "NOT_READY"),
    ],
)
def test_score_and_status_bands_at_their_boundaries(passed, warned, failed, score, status):
    results = _results(passed, warned, failed)
    assert readiness_score(results) == score
    assert readiness_status(score=score, results=results) == status


@pytest.fixture
def agents(account):
    return [_agent(account, slug, "scripted/default") for slug in ("alpha", "beta")]


@pytest.fixture
def admin(make_user, account):
    return make_user(account, role=Membership.Role.ADMIN, username="ada")


def test_a_report_runs_every_check_with_evidence(account, agents, admin, tmp_path):
    with override_settings(VAR_DIR=tmp_path, DEBUG=True):
        report = readiness_report_create(account=account, actor=admin, source=ReadinessReport.Source.COMMAND)
    checks = {c["key"]: c for c in report.checks}
    assert list(checks) == [
        "agent_configs", "models_reachable", "worker", "beat", "queue_depth", "evaluation_pass_rate",
        "routing_accuracy", "handoff_rate", "critical_alerts", "deploy_settings", "emails", "benchmarks",
    ]  # fmt: skip
    assert (
        checks["agent_configs"]["status"] == PASS
        and "alpha, assistant, beta" in checks["agent_configs"]["evidence"]
    )
    # A real call through the gateway to the (scripted) model of both agents.
    assert checks["models_reachable"]["status"] == PASS
    assert checks["models_reachable"]["evidence"].startswith("scripted/default answered")
    assert (checks["evaluation_pass_rate"]["status"], checks["evaluation_pass_rate"]["evidence"]) == (
        FAIL,
        "No evaluation run yet.",
    )
    assert checks["routing_accuracy"]["status"] == FAIL
    assert checks["handoff_rate"]["status"] == WARN  # no multi-agent traffic in the window
    assert checks["critical_alerts"]["status"] == PASS
    assert checks["queue_depth"]["status"] == PASS and "waiting in" in checks["queue_depth"]["evidence"]
    # A development server: check --deploy does not apply, says so, and is left out of the total.
    assert checks["deploy_settings"]["status"] == NA
    assert checks["deploy_settings"]["evidence"].startswith("Not applicable: DEBUG is on")
    assert checks["emails"]["status"] == FAIL  # ada has no email address
    assert (
        checks["benchmarks"]["status"] == FAIL and "No benchmark figures" in checks["benchmarks"]["evidence"]
    )
    passed = sum(c["status"] == PASS for c in report.checks)
    assert report.score == passed * 100 // 11
    assert report.status == ("NOT_READY" if report.score < 70 else "PARTIALLY_READY")


def test_recorded_bench_figures_pass_or_warn_on_a_missed_goal(account, agents, tmp_path):
    (tmp_path / "bench").mkdir()
    figures = {"bench": "guarded_rollout", "recorded_at": "2026-12-03T20:00:00+00:00",
               "goals": [{"goal": "A/A false rollbacks <= 5%", "met": True}]}  # fmt: skip
    (tmp_path / "bench" / "guarded_rollout.json").write_text(json.dumps(figures))
    with override_settings(VAR_DIR=tmp_path):
        report = readiness_report_create(account=account, actor=None, source="command")
        assert {c["key"]: c["status"] for c in report.checks}["benchmarks"] == PASS
        figures["goals"].append({"goal": "rolled back within 15 min", "met": False})
        (tmp_path / "bench" / "guarded_rollout.json").write_text(json.dumps(figures))
        report = readiness_report_create(account=account, actor=None, source="command")
    benchmarks = {c["key"]: c for c in report.checks}["benchmarks"]
    assert benchmarks["status"] == WARN and "rolled back within 15 min" in benchmarks["evidence"]


def test_a_not_applicable_check_counts_neither_way():
    with_na = [*_results(9, 1), CheckResult("deploy_settings", "d", NA, "DEBUG is on")]
    assert readiness_score(with_na) == 90  # 9 of the 10 applicable checks
    assert readiness_status(score=90, results=with_na) == "PRODUCTION_READY"
    # Counted as a warning instead, the same checks are only partially ready (9 of 11 = 81).
    as_warning = [*_results(9, 2)]
    assert readiness_score(as_warning) == 81
    assert readiness_status(score=81, results=as_warning) == "PARTIALLY_READY"
    assert readiness_score([CheckResult("x", "x", NA, "")]) == 0  # nothing applicable is not ready


def test_mail_written_to_files_is_delivered_on_a_development_server_only(account, agents, admin, tmp_path):
    type(admin).objects.filter(pk=admin.pk).update(email="ada@example.com")
    files = {"EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
             "EMAIL_FILE_PATH": str(tmp_path / "mail")}  # fmt: skip

    def emails() -> dict:
        return check_emails(account).as_dict()

    with override_settings(DEBUG=True, **files):
        dev = emails()
    assert dev["status"] == PASS and str(tmp_path / "mail") in dev["evidence"]
    with override_settings(DEBUG=False, **files):
        production = emails()
    assert production["status"] == WARN and "nothing is delivered" in production["evidence"]
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the mail directory should be")
    with override_settings(DEBUG=True, EMAIL_BACKEND=files["EMAIL_BACKEND"], EMAIL_FILE_PATH=str(blocked)):
        unwritable = emails()
    assert unwritable["status"] == FAIL and "Cannot write mail" in unwritable["evidence"]


def test_the_offline_model_check_reads_what_the_workers_report(account):
    from django.core.cache import cache

    from agents.llm.warm import OFFLINE_LOADED_KEY, offline_model_loaded_record
    from analytics.release.readiness import check_models_reachable

    _agent(account, "helper", "offline/knowledge-base")
    cache.delete(OFFLINE_LOADED_KEY)
    missing = check_models_reachable(account)
    assert missing.status == FAIL and "no worker has reported loading it" in missing.evidence
    offline_model_loaded_record(seconds=12.5, worker="worker-host")
    try:
        loaded = check_models_reachable(account)
    finally:
        cache.delete(OFFLINE_LOADED_KEY)
    assert loaded.status == PASS
    assert "offline/knowledge-base: loaded by the worker on worker-host at " in loaded.evidence
    assert "in 12.5 s" in loaded.evidence


def test_with_debug_off_check_deploy_decides(account, agents):
    with override_settings(DEBUG=False):
        report = readiness_report_create(account=account, actor=None, source="command")
    deploy = {c["key"]: c for c in report.checks}["deploy_settings"]
    assert deploy["status"] in (PASS, FAIL)
    assert "check --deploy" in deploy["evidence"]


# --- the rollout gate ------------------------------------------------------------------------------


@pytest.fixture
def flag(db) -> Flag:
    return flag_create(key=MULTI_AGENT_FLAG, actor=None, reason="tests", source="command", phase=Phase.SHADOW)


def _ready_report(account, *, age=timedelta(0), status="PRODUCTION_READY"):
    report = ReadinessReport.objects.create(
        account=account, source="command", score=92 if status == "PRODUCTION_READY" else 50, status=status,
        checks=[{"key": "worker", "label": "A Celery worker answers", "status": "pass" if status ==
                 "PRODUCTION_READY" else "fail", "evidence": "x"}],
    )  # fmt: skip
    ReadinessReport.objects.filter(pk=report.pk).update(created_at=timezone.now() - age)
    return report


def _to_canary(flag, account, **extra):
    # Only the readiness gate: the other gates have their own tests.
    flag.gates = {key: {"enabled": False} for key in ("error_rate", "handoff_rate", "routing_accuracy",
                                                      "no_critical_alerts")}  # fmt: skip
    flag.save()
    return flag_update(flag=flag, account=account, actor=None, reason="canary", source="command",
                       phase=Phase.CANARY, **extra)  # fmt: skip


def test_the_readiness_gate_refuses_without_a_ready_report(flag, account):
    with pytest.raises(GatesRefused) as refused:
        _to_canary(flag, account)
    (result,) = [r for r in refused.value.results if r.key == "readiness"]
    assert (result.passed, result.figure) == (False, "no report")
    _ready_report(account, status="NOT_READY")
    with pytest.raises(GatesRefused) as refused:
        _to_canary(flag, account)
    (result,) = [r for r in refused.value.results if r.key == "readiness"]
    assert result.figure.startswith("50 NOT_READY") and "A Celery worker answers" in result.reason
    ReadinessReport.objects.all().delete()
    _ready_report(account, age=timedelta(hours=25))  # ready, but a day old
    with pytest.raises(GatesRefused) as refused:
        _to_canary(flag, account)
    assert "25 h old" in next(r for r in refused.value.results if r.key == "readiness").reason


def test_the_readiness_gate_passes_on_a_recent_ready_report(flag, account):
    _ready_report(account)
    change = _to_canary(flag, account)
    assert not change.gates_overridden
    assert [(g["key"], g["passed"]) for g in change.gate_results] == [("readiness", True)]


def test_an_admin_overrides_the_readiness_gate_with_a_reason_which_is_audited(flag, account):
    change = _to_canary(flag, account, override_gates=True)
    assert change.gates_overridden and change.reason == "canary"
    assert [(g["key"], g["passed"]) for g in change.gate_results] == [("readiness", False)]
    assert FlagChange.objects.filter(pk=change.pk, after__phase="canary").exists()


# --- page, downloads, API and command, scoped to the account --------------------------------------


def test_the_page_runs_the_checks_and_downloads_them(
    client, account, agents, admin, other_account, make_user
):
    client.force_login(admin)
    assert b"No readiness report yet" in client.get("/readiness/").content
    response = client.post("/readiness/run/")
    assert response.status_code == 302
    report = ReadinessReport.objects.get(account=account)
    page = client.get("/readiness/").content.decode()
    assert f'data-score="{report.score}"' in page and 'data-check="models_reachable"' in page
    markdown = client.get(f"/readiness/{report.pk}.md")
    assert markdown["Content-Type"].startswith("text/markdown")
    assert f"- Status: **{report.status}**" in markdown.content.decode()
    assert (
        "| Latest evaluation pass rate >= 95% | FAIL | No evaluation run yet. |" in markdown.content.decode()
    )
    body = json.loads(client.get(f"/readiness/{report.pk}.json").content)
    assert (body["score"], body["status"], len(body["checks"])) == (report.score, report.status, 12)
    foreign = _ready_report(other_account)
    assert client.get(f"/readiness/{foreign.pk}.md").status_code == 404
    assert client.get(f"/readiness/{foreign.pk}.json").status_code == 404


def test_members_and_operators_may_not_see_readiness(client, account, make_user):
    for role in (Membership.Role.MEMBER, Membership.Role.OPERATOR):
        client.force_login(make_user(account, role=role))
        assert client.get("/readiness/").status_code == 403
        assert client.post("/readiness/run/").status_code == 403
    assert not ReadinessReport.objects.exists()


def test_the_api_runs_and_reads_the_report(client, account, agents, admin, member, outsider):
    from accounts.auth import api_token_create

    def call(user, method="get"):
        token = api_token_create(user=user, name="t")[1]
        return getattr(client, method)(
            f"/api/accounts/{account.slug}/readiness", HTTP_AUTHORIZATION=f"Bearer {token}"
        )

    assert call(admin).status_code == 404
    response = call(admin, "post")
    assert response.status_code == 200
    body = response.json()
    assert (body["total"], body["not_applicable"]) == (12, 0)
    assert body["status"] in ReadinessReport.Status.values
    assert call(admin).json()["id"] == body["id"]
    assert call(member).status_code == 403
    assert call(outsider).status_code == 404


def test_the_command_prints_the_report_and_fails_when_not_ready(account, agents, capsys):
    with pytest.raises(SystemExit) as exit_code:
        call_command("readiness", "--account", account.slug, "--format", "json")
    assert exit_code.value.code == 1
    body = json.loads(capsys.readouterr().out)
    assert body["account"] == account.slug and body["status"] != "PRODUCTION_READY"
