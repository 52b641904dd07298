"""Bad input on every way a message comes in: NUL characters, lone surrogates, bytes that are not
UTF-8 and oversized bodies are refused with a 400 (or 413) naming the field, in the client's
format, and a refused message leaves no conversation or message behind."""

from __future__ import annotations

import json

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.core.exceptions import ValidationError
from django.test import Client

from accounts.auth import api_token_create
from accounts.models import Membership
from agents.models import AgentInstance
from config.asgi import application
from conversations.models import Conversation, Message
from conversations.services import conversation_start, message_post, message_send

NUL_JSON = json.dumps({"message": "hello\x00world"})
SURROGATE_JSON = '{"message": "hello \\ud800 world"}'
INVALID_UTF8_JSON = b'{"message": "hello \xff\xfe world"}'
BAD_JSON_BODIES = {"nul": NUL_JSON, "lone surrogate": SURROGATE_JSON, "invalid utf-8": INVALID_UTF8_JSON}
BAD_FORM_BODIES = {
    "nul": "message=hello%00world",
    "lone surrogate": "message=hello%ED%A0%80world",  # a surrogate encoded as UTF-8 is not UTF-8
    "invalid utf-8": "message=hello%FF%FEworld",
    "raw invalid utf-8": b"message=hello\xffworld",
}


def _api(user) -> dict[str, str]:
    _, raw = api_token_create(user=user, name="tests")
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


@pytest.fixture
def admin(make_user, account):
    # Admins may use every chat route, the multi-agent one included.
    return make_user(account, role=Membership.Role.ADMIN, username="ada")


@pytest.fixture
def api_routes(account) -> list[str]:
    agent = AgentInstance.objects.filter(account=account).first()
    return [
        f"/api/accounts/{account.slug}/agents/{agent.slug}/chat",
        "/api/chat/message",
        "/api/chat/multi-agent/message",
    ]


def _nothing_saved() -> None:
    assert Conversation.objects.count() == 0
    assert Message.objects.count() == 0


# --- API -------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", BAD_JSON_BODIES)
def test_api_chat_refuses_text_that_cannot_be_stored_under_message(db, admin, api_routes, kind):
    headers = _api(admin)
    for route in api_routes:
        response = Client().post(route, BAD_JSON_BODIES[kind], content_type="application/json", **headers)
        assert response.status_code == 400, (route, response.content)
        body = response.json()
        assert body["detail"] == "Invalid input"
        assert list(body["errors"]) == ["message"], body
    _nothing_saved()


@pytest.mark.parametrize("message", ["", "   ", "x" * 8001])
def test_api_chat_leaves_no_empty_conversation_behind(db, admin, api_routes, message):
    headers = _api(admin)
    for route in api_routes:
        response = Client().post(route, {"message": message}, content_type="application/json", **headers)
        assert response.status_code == 400, (route, response.content)
        assert list(response.json()["errors"]) == ["message"]
    _nothing_saved()


def test_api_names_a_nested_field(db, admin, account):
    response = Client().post(
        f"/api/accounts/{account.slug}/runs",
        '{"mode": "sequential", "tasks": [{"agent": "assistant", "input": "a\\u0000b"}]}',
        content_type="application/json",
        **_api(admin),
    )
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["tasks.0.input"]


def test_api_query_string_is_checked_too(db, admin, account):
    response = Client().get(f"/api/accounts/{account.slug}/escalations?status=open%00", **_api(admin))
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["status"]


def test_an_oversized_api_body_is_a_json_413(db, admin, api_routes, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = Client().post(
        api_routes[1], {"message": "x" * 2000}, content_type="application/json", **_api(admin)
    )
    assert response.status_code == 413
    body = response.json()
    assert "at most 1,000 bytes" in body["detail"] and list(body["errors"]) == ["body"]
    _nothing_saved()


# --- Chat pages ------------------------------------------------------------------------


@pytest.mark.parametrize("kind", BAD_FORM_BODIES)
@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "plain"])
def test_the_chat_form_refuses_text_that_cannot_be_stored(db, member_client, kind, htmx):
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    response = member_client.post(
        "/chat/new/", BAD_FORM_BODIES[kind], content_type="application/x-www-form-urlencoded", **headers
    )
    assert response.status_code == 400
    text = response.content.decode()
    assert "Message:" in text
    if htmx:
        assert response["HX-Retarget"] == "#composer-error"
        assert "<html" not in text  # the error slot's fragment, not a page
    else:
        assert "<html" in text and "Invalid input" in text
    _nothing_saved()


def test_a_multipart_chat_form_is_checked_too(db, member_client):
    response = member_client.post("/chat/new/", {"message": "a\x00b"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 400 and "Message:" in response.content.decode()
    _nothing_saved()


def test_a_bad_message_in_an_existing_conversation_adds_nothing(db, member_client, account, member):
    conversation = conversation_start(account=account, user=member)
    for body in BAD_FORM_BODIES.values():
        response = member_client.post(
            f"/chat/{conversation.pk}/messages/",
            body,
            content_type="application/x-www-form-urlencoded",
            HTTP_HX_REQUEST="true",
        )
        assert response.status_code == 400
        assert response["HX-Retarget"] == "#composer-error"
    assert not Message.objects.exists()


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "plain"])
def test_an_oversized_chat_post_is_a_413_in_the_page_format(db, member_client, settings, htmx):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    response = member_client.post("/chat/new/", {"message": "x" * 2000}, **headers)
    assert response.status_code == 413
    text = response.content.decode()
    assert "at most 1,000 bytes" in text
    if htmx:
        assert response["HX-Retarget"] == "#composer-error" and "<html" not in text
    else:
        assert "<html" in text and "Request too large" in text
    _nothing_saved()


# --- Services and the socket -----------------------------------------------------------


@pytest.mark.parametrize("content", ["a\x00b", "a\ud800b", "a\udcffb"])
def test_services_refuse_text_that_cannot_be_stored(db, account, member, content):
    conversation = conversation_start(account=account, user=member)
    with pytest.raises(ValidationError) as sent:
        message_send(conversation=conversation, user=member, content=content)
    assert list(sent.value.message_dict) == ["message"]
    with pytest.raises(ValidationError) as posted:
        message_post(conversation=conversation, content=content)
    assert list(posted.value.message_dict) == ["content"]
    assert not Message.objects.exists()


@pytest.mark.django_db(transaction=True)
async def test_text_sent_on_the_chat_socket_saves_nothing(account, member):
    """The browser sends messages over HTTP, where a refusal has a status code; the socket
    ignores whatever is sent on it, bad text included, and stays open."""
    conversation = await database_sync_to_async(conversation_start)(account=account, user=member)
    client = Client()
    await database_sync_to_async(client.force_login)(member)
    communicator = WebsocketCommunicator(
        application,
        f"/ws/conversations/{conversation.pk}/",
        headers=[
            (b"origin", b"http://testserver"),
            (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode()),
        ],
    )
    connected, _ = await communicator.connect()
    assert connected
    await communicator.send_to(text_data='{"message": "a\\u0000b \\ud800"}')
    await communicator.send_to(bytes_data=b"\xff\xfe\x00")
    assert await communicator.receive_nothing(timeout=0.3)
    assert not await database_sync_to_async(Message.objects.exists)()
    await communicator.disconnect()
