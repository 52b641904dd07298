"""The rollout percentage is a number and nothing else, on every entry point: the API refuses
booleans and strings (``"1e2"`` included), and the Rollout page and Django admin refuse text that
only Python would read as a number (an exponent, NaN, Infinity), each with a message."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.auth import api_token_create
from rollout.models import AccountFlag, Flag, FlagChange

pytestmark = pytest.mark.django_db

FLAG_URL = "/api/accounts/acme/flags/multi_agent"
NOT_PLAIN = ["1e2", "1E1", "5e-1", "NaN", "Infinity", "-inf", "0x10", "true", "1_0"]


def _api(user) -> dict[str, str]:
    _, token = api_token_create(user=user, name="tests")
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


@pytest.fixture
def staff_client(make_user, account) -> Client:
    staff = make_user(account, username="root")
    staff.is_staff = staff.is_superuser = True
    staff.save()
    client = Client()
    client.force_login(staff)
    return client


def _nothing_changed() -> None:
    assert FlagChange.objects.count() == 1  # only the creation
    assert not AccountFlag.objects.exists()
    assert Flag.objects.get().percentage == 0


@pytest.mark.parametrize("value", [True, False, "1e2", "50", "NaN", [50], {"value": 50}])
def test_the_api_takes_only_a_json_number(flag, admin_user, client, value):
    response = client.patch(
        FLAG_URL, {"percentage": value, "reason": "x"}, content_type="application/json", **_api(admin_user)
    )
    assert response.status_code == 400, response.content
    errors = response.json()["errors"]
    assert list(errors) == ["percentage"] and "valid number" in errors["percentage"][0]
    _nothing_changed()


@pytest.mark.parametrize("value", [20, 12.5])
def test_the_api_takes_integers_and_decimals(flag, admin_user, client, value):
    response = client.patch(
        FLAG_URL,
        {"phase": "shadow", "percentage": value, "reason": "x"},
        content_type="application/json",
        **_api(admin_user),
    )
    assert response.status_code == 200, response.content
    assert response.json()["percentage"] == value


@pytest.mark.parametrize("value", NOT_PLAIN)
def test_the_rollout_page_refuses_text_that_is_not_a_plain_number(flag, admin_client, value):
    response = admin_client.post(
        "/rollout/multi_agent/change/", {"phase": "shadow", "percentage": value, "reason": "more"}
    )
    assert response.status_code == 400
    assert "is not a plain number" in response.content.decode()
    _nothing_changed()


def test_the_rollout_page_takes_a_plain_decimal(flag, admin_client):
    response = admin_client.post(
        "/rollout/multi_agent/change/", {"phase": "shadow", "percentage": " 12.5 ", "reason": "more"}
    )
    assert response.status_code in (200, 302)
    assert str(AccountFlag.objects.get().percentage) == "12.5"


@pytest.mark.parametrize("value", ["1e2", "NaN", "true"])
def test_django_admin_refuses_text_that_is_not_a_plain_number(flag, account, staff_client, value):
    form = {"description": flag.description, "enabled": "on", "phase": "shadow", "percentage": value,
            "group_id": "", "gates": "{}", "reason": "x", "changes-TOTAL_FORMS": "0",
            "changes-INITIAL_FORMS": "0"}  # fmt: skip
    response = staff_client.post(f"/admin/rollout/flag/{flag.pk}/change/", form)
    assert response.status_code == 200 and "is not a plain number" in response.content.decode()
    response = staff_client.post(
        "/admin/rollout/accountflag/add/",
        {"flag": flag.pk, "account": account.pk, "enabled": "unknown", "phase": "shadow",
         "percentage": value, "reason": "x"},
    )  # fmt: skip
    assert response.status_code == 200 and "is not a plain number" in response.content.decode()
    _nothing_changed()
    assert Flag.objects.get().phase == "off"


def test_django_admin_takes_a_plain_number_and_requires_one_for_the_flag(flag, staff_client):
    form = {"description": flag.description, "enabled": "on", "phase": "shadow", "percentage": "",
            "group_id": "", "gates": "{}", "reason": "x", "changes-TOTAL_FORMS": "0",
            "changes-INITIAL_FORMS": "0"}  # fmt: skip
    response = staff_client.post(f"/admin/rollout/flag/{flag.pk}/change/", form)
    assert response.status_code == 200 and "This field is required" in response.content.decode()
    response = staff_client.post(f"/admin/rollout/flag/{flag.pk}/change/", form | {"percentage": "30"})
    assert response.status_code == 302
    assert str(Flag.objects.get().percentage) == "30.0"
