"""Changing a flag: every entry point audited, bad input refused with nothing changed,
gates refusing with their reasons, and who may change what."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from accounts.auth import api_token_create
from accounts.models import Membership
from agents.models import RoutingEvaluation
from analytics.release.models import ReadinessReport
from conversations.models import Conversation, Handoff, Message, Turn
from rollout.decision import MULTI_AGENT_FLAG, is_enabled
from rollout.models import AccountFlag, FlagChange, FlagOverride, Phase
from rollout.services import GatesRefused, flag_rollback, flag_update

pytestmark = pytest.mark.django_db

FLAG_URL = "/api/accounts/acme/flags/multi_agent"


def _api(user) -> dict:
    _, token = api_token_create(user=user, name="tests")
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def _patch(client: Client, headers: dict, body: dict, url: str = FLAG_URL):
    return client.patch(url, body, content_type="application/json", **headers)


def _latest() -> FlagChange:
    return FlagChange.objects.order_by("-id").first()


def _healthy_data(account, user) -> None:
    """A week that passes every gate: multi-agent fails no more often than legacy, few hand-offs,
    and a good routing evaluation."""
    for arm, routed, failed in (("legacy", False, 1), ("multi_agent", True, 0)):
        for i in range(4):
            conversation = Conversation.objects.create(account=account, user=user, arm=arm, routed=routed)
            question = Message.objects.create(conversation=conversation, role="user", content="q")
            status = "failed" if i < failed else "complete"
            Message.objects.create(
                conversation=conversation, role="assistant", status=status, reply_to=question
            )
    RoutingEvaluation.objects.create(
        account=account, dataset="dev.jsonl", total=100, correct=95, accuracy=0.95
    )
    # A fresh readiness report that is ready (the gate "readiness", analytics/release).
    ReadinessReport.objects.create(account=account, source="command", score=100, status="PRODUCTION_READY")


def test_the_service_writes_before_after_who_and_why(flag, account, admin_user):
    change = flag_update(flag=flag, account=account, actor=admin_user, reason="try shadow", source="page",
                         phase=Phase.SHADOW)  # fmt: skip
    assert (change.actor, change.actor_name, change.source, change.reason) == (
        admin_user,
        "ada",
        "page",
        "try shadow",
    )
    assert change.before == {"enabled": True, "percentage": "0.0", "phase": "off"}
    assert change.after == {"enabled": True, "percentage": "100.0", "phase": "shadow"}
    assert change.account == account and change.created_at is not None


def test_the_rollout_page_changes_the_flag_with_a_reason_and_shows_it(flag, account, admin_client):
    response = admin_client.post(
        "/rollout/multi_agent/change/", {"phase": "shadow", "percentage": "", "reason": "compare first"}
    )
    assert response.status_code == 302
    change = _latest()
    assert (change.source, change.after["phase"], change.reason) == ("page", "shadow", "compare first")
    page = admin_client.get("/rollout/multi_agent/").content.decode()
    assert 'data-phase="shadow"' in page and "compare first" in page

    response = admin_client.post("/rollout/multi_agent/rollback/", {"reason": "comparison done"})
    assert response.status_code == 302
    assert (_latest().action, _latest().source, _latest().after["phase"]) == ("rollback", "page", "off")


def test_the_page_refuses_a_change_without_a_reason_or_with_a_bad_percentage(flag, admin_client):
    for data, message in (
        ({"phase": "shadow", "reason": ""}, "a reason is required"),
        ({"percentage": "150", "reason": "more"}, "from 0 to 100"),
        ({"percentage": "ten", "reason": "more"}, "not a plain number"),
        ({"percentage": "-1", "reason": "more"}, "from 0 to 100"),
    ):
        response = admin_client.post("/rollout/multi_agent/change/", data)
        assert response.status_code == 400, data
        assert message in response.content.decode(), data
    assert FlagChange.objects.count() == 1  # only the creation
    assert not AccountFlag.objects.exists()


def test_the_page_is_for_account_admins_and_staff(flag, account, member_client, make_user, outsider_client):
    assert member_client.get("/rollout/multi_agent/").status_code == 403
    assert (
        member_client.post("/rollout/multi_agent/change/", {"phase": "full", "reason": "x"}).status_code
        == 403
    )
    assert member_client.post("/rollout/multi_agent/rollback/", {"reason": "x"}).status_code == 403
    assert "Rollout" not in member_client.get("/chat/").content.decode().split("<main")[0]
    staff = make_user(account, username="root")
    staff.is_staff = True
    staff.save()
    client = Client()
    client.force_login(staff)
    assert client.get("/rollout/multi_agent/").status_code == 200
    assert 'href="/rollout/"' in client.get("/chat/").content.decode()
    assert outsider_client.get("/rollout/multi_agent/").status_code == 403  # a member elsewhere
    assert FlagChange.objects.count() == 1


def test_the_page_looks_up_which_arm_a_user_gets_and_why(flag, account, admin_client, member, outsider):
    flag_update(flag=flag, account=account, actor=None, reason="x", source="command", phase=Phase.SHADOW)
    page = admin_client.get("/rollout/multi_agent/", {"user": "alice"}).content.decode()
    assert 'data-arm="legacy"' in page and 'data-reason="shadow_in"' in page
    assert "also answers in the background" in page
    page = admin_client.get("/rollout/multi_agent/", {"user": outsider.username}).content.decode()
    assert "No member" in page and "data-arm" not in page  # another account's user is not looked up


def test_page_overrides_are_audited(flag, account, admin_client, member):
    response = admin_client.post(
        "/rollout/multi_agent/overrides/", {"username": "alice", "override": "on", "reason": "beta tester"}
    )
    assert response.status_code == 302
    assert FlagOverride.objects.get(user=member).enabled is True
    assert (_latest().action, _latest().after) == ("override", {"user": "alice", "override": True})
    assert (
        admin_client.post(
            "/rollout/multi_agent/overrides/", {"username": "mallory", "override": "on", "reason": "x"}
        ).status_code
        == 400
    )


def test_the_api_changes_the_flag_with_a_reason(flag, account, admin_user, client):
    response = _patch(client, _api(admin_user), {"phase": "shadow", "percentage": 40, "reason": "api change"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["phase"], body["percentage"], body["account_override"]) == ("shadow", 40.0, True)
    assert body["history"][0]["reason"] == "api change" and body["history"][0]["source"] == "api"
    assert _latest().source == "api"
    listed = client.get("/api/accounts/acme/flags", **_api(admin_user)).json()
    assert listed == [{"key": "multi_agent", "description": flag.description, "enabled": True,
                       "percentage": 40.0, "phase": "shadow", "account_override": True}]  # fmt: skip


def test_the_api_refuses_bad_input_and_changes_nothing(flag, admin_user, client):
    headers = _api(admin_user)
    cases = [
        ({"percentage": 101, "reason": "x"}, "percentage", "from 0 to 100"),
        ({"percentage": -0.5, "reason": "x"}, "percentage", "from 0 to 100"),
        ({"percentage": "lots", "reason": "x"}, "percentage", "valid number"),
        ({"percentage": 12.25, "reason": "x"}, "percentage", "at most one decimal"),
        ({"phase": "everyone", "reason": "x"}, "phase", "Unknown phase"),
        ({"phase": "shadow"}, "reason", "Field required"),
        ({"phase": "shadow", "reason": "  "}, "reason", "a reason is required"),
        ({"reason": "nothing"}, "__all__", "Nothing to change"),
        ({"percent": 10, "reason": "typo"}, "percent", "Extra inputs"),
    ]
    for body, field, message in cases:
        response = _patch(client, headers, body)
        assert response.status_code == 400, (body, response.content)
        assert message in " ".join(response.json()["errors"][field]), (body, response.json())
    response = _patch(
        client, headers, {"phase": "shadow", "reason": "x"}, url="/api/accounts/acme/flags/nope"
    )
    assert response.status_code == 404 and "No flag 'nope'" in response.json()["detail"]
    assert FlagChange.objects.count() == 1
    assert not AccountFlag.objects.exists()


def test_only_admins_and_staff_change_flags_over_the_api(flag, member, outsider, client):
    response = _patch(client, _api(member), {"phase": "full", "reason": "me too"})
    assert response.status_code == 403 and "admins" in response.json()["detail"]
    assert client.get(FLAG_URL, **_api(member)).status_code == 403
    assert client.get("/api/accounts/acme/flags", **_api(member)).status_code == 200  # members may read
    assert _patch(client, _api(outsider), {"phase": "full", "reason": "x"}).status_code == 404
    assert client.get("/api/accounts/acme/flags", **_api(outsider)).status_code == 404
    assert (
        client.patch(FLAG_URL, {"phase": "full", "reason": "x"}, content_type="application/json").status_code
        == 401
    )
    assert FlagChange.objects.count() == 1


def test_the_api_tells_which_arm_a_user_gets_and_sets_overrides(flag, account, admin_user, member, client):
    headers = _api(admin_user)
    body = client.get(f"{FLAG_URL}/users/alice", **headers).json()
    assert (body["arm"], body["reason"]) == ("legacy", "off")
    response = client.put(f"{FLAG_URL}/users/alice", {"enabled": True, "reason": "pilot"},
                          content_type="application/json", **headers)  # fmt: skip
    assert response.status_code == 200 and response.json()["arm"] == "multi_agent"
    assert (_latest().source, _latest().action) == ("api", "override")
    assert client.get(f"{FLAG_URL}/users/mallory", **headers).status_code == 404


def test_the_command_changes_and_rolls_back_with_a_reason(flag, account, capsys):
    call_command("rollout", "set", "multi_agent", "--account", "acme", "--phase", "shadow", "--reason", "cli")
    assert (_latest().source, _latest().after["phase"], _latest().reason) == ("command", "shadow", "cli")
    call_command("rollout", "rollback", "multi_agent", "--account", "acme", "--reason", "done")
    assert (_latest().action, _latest().after["phase"]) == ("rollback", "off")
    with pytest.raises(CommandError, match="from 0 to 100"):
        call_command(
            "rollout", "set", "multi_agent", "--account", "acme", "--percentage", "140", "--reason", "x"
        )
    with pytest.raises(CommandError, match="No flag 'nope'"):
        call_command("rollout", "set", "nope", "--account", "acme", "--phase", "full", "--reason", "x")
    with pytest.raises(CommandError, match="a reason is required"):
        call_command(
            "rollout", "set", "multi_agent", "--account", "acme", "--phase", "shadow", "--reason", " "
        )
    assert FlagChange.objects.count() == 3
    call_command("rollout", "show", "multi_agent", "--account", "acme")
    assert "phase off" in capsys.readouterr().out


def test_django_admin_changes_go_through_the_audit_with_a_reason(flag, account, make_user):
    staff = make_user(account, username="root")
    staff.is_staff = staff.is_superuser = True
    staff.save()
    client = Client()
    client.force_login(staff)
    url = f"/admin/rollout/flag/{flag.pk}/change/"
    form = {"description": flag.description, "enabled": "on", "phase": "shadow", "percentage": "30",
            "group_id": "", "gates": "{}", "reason": "", "changes-TOTAL_FORMS": "0",
            "changes-INITIAL_FORMS": "0"}  # fmt: skip
    response = client.post(url, form)
    assert response.status_code == 200 and "This field is required" in response.content.decode()
    response = client.post(url, form | {"percentage": "100.5", "reason": "x"})
    assert response.status_code == 200
    assert "The percentage must be from 0 to 100, not 100.5." in response.content.decode()
    flag.refresh_from_db()
    assert flag.phase == "off" and FlagChange.objects.count() == 1

    response = client.post(url, form | {"reason": "global shadow"})
    assert response.status_code == 302, response.content.decode()[:3000]
    flag.refresh_from_db()
    assert (flag.phase, str(flag.percentage)) == ("shadow", "30.0")
    assert (_latest().source, _latest().reason, _latest().actor) == ("admin", "global shadow", staff)
    page = client.get(url).content.decode()
    assert "global shadow" in page  # the history inline

    response = client.post("/admin/rollout/accountflag/add/", {
        "flag": flag.pk, "account": account.pk, "enabled": "unknown", "phase": "canary", "percentage": "",
        "reason": "canary for acme",
    })  # fmt: skip
    assert response.status_code == 200 and "Refused: a gate failed" in response.content.decode()
    assert not AccountFlag.objects.exists()
    response = client.post("/admin/rollout/accountflag/add/", {
        "flag": flag.pk, "account": account.pk, "enabled": "unknown", "phase": "canary", "percentage": "",
        "reason": "canary for acme despite no data", "override_gates": "on",
    })  # fmt: skip
    assert response.status_code == 302
    assert AccountFlag.objects.get().phase == "canary"
    assert (_latest().source, _latest().gates_overridden) == ("admin", True)


def test_advancing_is_refused_with_the_gates_reasons(flag, account, member):
    with pytest.raises(GatesRefused) as refused:
        flag_update(flag=flag, account=account, actor=None, reason="go", source="command", phase=Phase.CANARY)
    messages = " ".join(refused.value.messages)
    assert "No finished multi-agent replies" in messages
    assert "No multi-agent conversations" in messages
    assert "No evaluation run with routing cases yet" in messages
    assert FlagChange.objects.count() == 1 and not AccountFlag.objects.exists()
    # Shadow serves nobody: no gate. Rollback never needs one.
    flag_update(flag=flag, account=account, actor=None, reason="shadow", source="command", phase=Phase.SHADOW)
    flag_rollback(flag=flag, account=account, actor=None, reason="back", source="command")


def test_gates_measure_each_arm_and_pass_on_healthy_data(flag, account, member):
    _healthy_data(account, member)
    change = flag_update(flag=flag, account=account, actor=None, reason="green", source="command",
                         phase=Phase.CANARY)  # fmt: skip
    assert all(r["passed"] for r in change.gate_results)  # other apps may register more gates
    assert change.gate_results[0]["figure"] == "0.0% (0/4) vs 25.0% (1/4)"
    assert not change.gates_overridden
    # A multi-agent arm that fails significantly more often than legacy (4/4 vs 1/4: p = 0.014),
    # and too many hand-offs, block the next step.
    Message.objects.filter(conversation__arm="multi_agent", role="assistant").update(status="failed")
    for conversation in Conversation.objects.filter(arm="multi_agent")[:2]:
        reply = conversation.messages.get(role="assistant")
        turn = Turn.objects.create(reply=reply, conversation=conversation)
        Handoff.objects.create(conversation=conversation, turn=turn, reason="x", via="tool")
    with pytest.raises(GatesRefused) as refused:
        flag_update(
            flag=flag, account=account, actor=None, reason="more", source="command", phase=Phase.PARTIAL
        )
    failed = {r.key: r for r in refused.value.results if not r.passed}
    assert set(failed) == {"error_rate", "handoff_rate"}
    assert failed["handoff_rate"].figure == "50.0% (2/4 conversations)"
    # Thresholds are per flag: this flag accepts more hand-offs and skips the error-rate gate.
    flag.gates = {"handoff_rate": {"max": 0.6}, "error_rate": {"enabled": False}}
    flag.save()
    flag_update(flag=flag, account=account, actor=None, reason="tuned", source="command", phase=Phase.PARTIAL)


def test_an_admin_may_override_a_failed_gate_with_a_reason_which_is_audited(
    flag, account, admin_user, client
):
    response = _patch(client, _api(admin_user), {"phase": "canary", "reason": "go"})
    assert response.status_code == 409
    body = response.json()
    assert "Refused" in body["detail"] and "evaluation run with routing cases" in body["detail"]
    assert {g["key"] for g in body["gates"] if not g["passed"]} == {
        "error_rate",
        "handoff_rate",
        "routing_accuracy",
        "readiness",
    }
    assert not AccountFlag.objects.exists()
    response = _patch(client, _api(admin_user), {"phase": "canary", "reason": "pilot customer asked",
                                                 "override_gates": True})  # fmt: skip
    assert response.status_code == 200
    change = _latest()
    assert change.gates_overridden and change.reason == "pilot customer asked"
    assert {"error_rate", "handoff_rate", "routing_accuracy"} <= {g["key"] for g in change.gate_results}


def test_rollback_is_one_step_to_nobody(flag, account, make_members):
    users = make_members(account, 30)
    flag_update(flag=flag, account=account, actor=None, reason="all", source="command", phase=Phase.FULL,
                override_gates=True)  # fmt: skip
    assert all(is_enabled(MULTI_AGENT_FLAG, u, account) for u in users)
    flag_rollback(flag=flag, account=account, actor=None, reason="incident", source="command")
    assert not any(is_enabled(MULTI_AGENT_FLAG, u, account) for u in users)


def test_a_percentage_moves_the_phase_along(flag, account):
    flag_update(flag=flag, account=account, actor=None, reason="x", source="command", percentage=5,
                override_gates=True)  # fmt: skip
    assert AccountFlag.objects.get().phase == "canary"
    flag_update(flag=flag, account=account, actor=None, reason="x", source="command", percentage=75,
                override_gates=True)  # fmt: skip
    assert AccountFlag.objects.get().phase == "partial"
    flag_update(flag=flag, account=account, actor=None, reason="x", source="command", percentage=0)
    assert AccountFlag.objects.get().phase == "off"


def test_an_override_needs_a_member(flag, account, outsider, admin_user):
    from django.core.exceptions import ValidationError

    from rollout.services import flag_override_set

    with pytest.raises(ValidationError, match="not a member"):
        flag_override_set(flag=flag, account=account, user=outsider, enabled=True, actor=admin_user,
                          reason="x", source="command")  # fmt: skip
    assert not FlagOverride.objects.exists()


def test_members_of_the_account_count_in_the_cohort(flag, account, admin_client, make_members):
    make_members(account, 50)
    flag_update(flag=flag, account=account, actor=None, reason="x", source="command", phase=Phase.PARTIAL,
                override_gates=True)  # fmt: skip
    page = admin_client.get("/rollout/multi_agent/").content.decode()
    members = Membership.objects.filter(account=account).count()
    assert f"<dd>{members}</dd>" in page


def test_admin_overrides_need_a_reason_and_a_member_and_the_log_is_read_only(flag, account, member, outsider,
                                                                            make_user):  # fmt: skip
    staff = make_user(account, username="root")
    staff.is_staff = staff.is_superuser = True
    staff.save()
    client = Client()
    client.force_login(staff)
    form = {"flag": flag.pk, "account": account.pk, "user": member.pk, "enabled": "on", "reason": ""}
    assert client.post("/admin/rollout/flagoverride/add/", form).status_code == 200
    response = client.post("/admin/rollout/flagoverride/add/", form | {"user": outsider.pk, "reason": "x"})
    assert "is not a member of Acme" in response.content.decode()
    assert not FlagOverride.objects.exists()
    response = client.post("/admin/rollout/flagoverride/add/", form | {"reason": "beta tester"})
    assert response.status_code == 302
    assert FlagOverride.objects.get().enabled is True
    assert (_latest().source, _latest().action, _latest().reason) == ("admin", "override", "beta tester")
    assert client.get("/admin/rollout/flagchange/").status_code == 200
    assert client.get(f"/admin/rollout/flagchange/{_latest().pk}/delete/").status_code == 403
