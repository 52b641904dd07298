"""A user may send only so many chat messages a minute, counted across the chat page and the API
(and across processes, in Redis): past it, 429 with Retry-After and nothing is saved."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.auth import api_token_create
from conversations.models import Conversation, Message
from tests.support.ratelimits import fresh_rate_limits  # noqa: F401 - a fixture

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_rate_limits")]

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(autouse=True)
def small_limit(settings):
    settings.CHAT_SEND_RATE_LIMIT = 2
    settings.CHAT_SEND_RATE_WINDOW = 60


def api(user) -> Client:
    client = Client(HTTP_AUTHORIZATION=f"Bearer {api_token_create(user=user, name='t')[1]}")
    return client


def api_send(client: Client, **payload):
    return client.post(
        "/api/chat/message",
        {"message": "Hello", "wait_seconds": 0, **payload},
        content_type="application/json",
    )


def test_the_chat_page_refuses_the_message_over_the_limit_in_the_composer(member_client, member):
    for _ in range(2):
        assert member_client.post("/chat/new/", {"message": "Hi"}, **HTMX).status_code == 201
    saved = Message.objects.count()

    response = member_client.post("/chat/new/", {"message": "Hi again"}, **HTMX)
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 60
    assert response["HX-Retarget"] == "#composer-error"  # shown in the composer's error slot
    assert "sending messages too quickly" in response.content.decode()
    assert Message.objects.count() == saved
    assert Conversation.objects.filter(user=member).count() == 2  # no empty conversation left behind


def test_a_message_in_an_open_conversation_counts_too(member_client, member):
    member_client.post("/chat/new/", {"message": "Hi"}, **HTMX)
    member_client.post("/chat/new/", {"message": "Hi"}, **HTMX)
    conversation = Conversation.objects.filter(user=member).first()
    response = member_client.post(f"/chat/{conversation.pk}/messages/", {"message": "More"}, **HTMX)
    assert response.status_code == 429


def test_without_htmx_the_refusal_is_a_page_in_the_apps_layout(member_client):
    for _ in range(2):
        member_client.post("/chat/new/", {"message": "Hi"})
    response = member_client.post("/chat/new/", {"message": "Hi"})
    assert response.status_code == 429 and "Retry-After" in response
    assert 'class="topbar"' in response.content.decode()


def test_the_api_refuses_over_the_limit_as_json(member):
    client = api(member)
    for _ in range(2):
        assert api_send(client).status_code == 200
    response = api_send(client)
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert "sending messages too quickly" in response.json()["detail"]


@pytest.mark.parametrize(
    "route", ["/api/chat/multi-agent/message", "/api/accounts/acme/agents/assistant/chat"]
)
def test_every_api_chat_route_is_limited(member, route):
    client = api(member)
    for _ in range(2):
        api_send(client)
    response = client.post(route, {"message": "Hi", "wait_seconds": 0}, content_type="application/json")
    assert response.status_code == 429


def test_the_page_and_the_api_share_one_budget(member_client, member):
    member_client.post("/chat/new/", {"message": "Hi"}, **HTMX)
    assert api_send(api(member)).status_code == 200
    assert api_send(api(member)).status_code == 429


def test_each_user_has_a_budget_of_their_own(member, make_user, account):
    other = make_user(account)
    for _ in range(3):
        api_send(api(member))
    assert api_send(api(other)).status_code == 200


def test_a_limit_of_zero_turns_it_off(member, settings):
    settings.CHAT_SEND_RATE_LIMIT = 0
    client = api(member)
    for _ in range(4):
        assert api_send(client).status_code == 200
