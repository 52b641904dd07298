"""A person's conversation list: search by title and message text, rename, and delete (kept for
analytics, gone for the user). Each only ever reaches the user's own conversations."""

import pytest

from conversations.models import Conversation, Message
from conversations.services import conversation_start

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def _conversation(account, user, title: str, text: str) -> Conversation:
    conversation = conversation_start(account=account, user=user)
    conversation.title = title
    conversation.save()
    question = Message.objects.create(conversation=conversation, role="user", content=text)
    Message.objects.create(conversation=conversation, role="assistant", content="Answer.", reply_to=question)
    return conversation


@pytest.fixture
def history(account, member):
    return {
        "vpn": _conversation(account, member, "VPN drops", "It disconnects hourly."),
        "badge": _conversation(account, member, "Office access", "My new BADGE is rejected in Lisbon."),
        "pricing": _conversation(account, member, "Team plan", "What does it cost?"),
    }


def _listed(response) -> list[str]:
    return [c.title for c in response.context["conversations"]]


def test_search_matches_titles_and_message_text_in_any_case(member_client, history):
    assert _listed(member_client.get("/chat/list/", {"q": "vpn"}, **HTMX)) == ["VPN drops"]
    assert _listed(member_client.get("/chat/list/", {"q": "badge is"}, **HTMX)) == ["Office access"]
    response = member_client.get("/chat/list/", {"q": "nothing like this"}, **HTMX)
    assert _listed(response) == [] and "No conversation matches" in response.content.decode()
    # The chat page filters its list the same way without JavaScript.
    assert _listed(member_client.get("/chat/", {"q": "team"})) == ["Team plan"]
    assert len(_listed(member_client.get("/chat/list/", {"q": ""}, **HTMX))) == 3


def test_search_finds_only_the_users_own_conversations_in_this_account(
    account, other_account, make_user, member, member_client, history
):
    colleague = make_user(account, username="bob")
    _conversation(account, colleague, "Bob's VPN", "vpn again")
    from accounts.models import Membership

    Membership.objects.create(user=member, account=other_account)
    _conversation(other_account, member, "VPN at Globex", "vpn elsewhere")
    assert _listed(member_client.get("/chat/list/", {"q": "vpn"}, **HTMX)) == ["VPN drops"]


def test_rename_changes_the_title_shown_and_refuses_an_empty_one(member_client, history):
    vpn = history["vpn"]
    response = member_client.post(f"/chat/{vpn.pk}/rename/", {"title": "  Hourly   VPN drop "})
    assert response.status_code == 302
    vpn.refresh_from_db()
    assert vpn.title == "Hourly VPN drop"
    page = member_client.get(f"/chat/{vpn.pk}/").content.decode()
    assert '<h1 class="chat-title" id="chat-title">Hourly VPN drop</h1>' in page
    member_client.post(f"/chat/{vpn.pk}/rename/", {"title": "   "})
    vpn.refresh_from_db()
    assert vpn.title == "Hourly VPN drop"
    assert "Give the conversation a title." in member_client.get(f"/chat/{vpn.pk}/").content.decode()


def test_delete_hides_the_conversation_from_its_user_but_keeps_it_for_analytics(member_client, history):
    badge = history["badge"]
    response = member_client.post(f"/chat/{badge.pk}/delete/")
    assert response.status_code == 302 and response["Location"] == "/chat/"
    assert "Office access" not in _listed(member_client.get("/chat/"))
    assert _listed(member_client.get("/chat/list/", {"q": "badge"}, **HTMX)) == []
    assert member_client.get(f"/chat/{badge.pk}/").status_code == 404
    assert member_client.post(f"/chat/{badge.pk}/messages/", {"message": "Hello?"}).status_code == 404
    badge.refresh_from_db()
    assert badge.deleted_at is not None and badge.messages.count() == 2


def test_deleting_stops_a_reply_that_is_still_running(account, member, member_client):
    conversation = conversation_start(account=account, user=member)
    question = Message.objects.create(conversation=conversation, role="user", content="Hi")
    reply = Message.objects.create(
        conversation=conversation, role="assistant", status="pending", reply_to=question
    )
    member_client.post(f"/chat/{conversation.pk}/delete/")
    reply.refresh_from_db()
    assert reply.status == "cancelled"


def test_nobody_else_renames_or_deletes_a_conversation(history, outsider_client, make_user, account):
    from django.test import Client

    colleague = Client()
    colleague.force_login(make_user(account, username="carol"))
    vpn = history["vpn"]
    for client in (outsider_client, colleague):
        assert client.post(f"/chat/{vpn.pk}/rename/", {"title": "Mine now"}).status_code == 404
        assert client.post(f"/chat/{vpn.pk}/delete/").status_code == 404
    vpn.refresh_from_db()
    assert vpn.title == "VPN drops" and vpn.deleted_at is None


def test_a_reply_shows_a_copy_button_and_its_sources_as_links(account, member, member_client):
    conversation = conversation_start(account=account, user=member)
    question = Message.objects.create(conversation=conversation, role="user", content="How?")
    reply = Message.objects.create(
        conversation=conversation,
        role="assistant",
        reply_to=question,
        content="Like this.\n\n**Sources**\n- [Incident assignment](/kb/articles/incident-assignment/)",
    )
    page = member_client.get(f"/chat/{conversation.pk}/").content.decode()
    assert f'data-copy="message-{reply.pk}-text"' in page
    assert '<a href="/kb/articles/incident-assignment/" rel="nofollow noopener noreferrer">' in page


def test_a_pending_reply_shows_the_typing_indicator(account, member, member_client):
    conversation = conversation_start(account=account, user=member)
    question = Message.objects.create(conversation=conversation, role="user", content="Hi")
    reply = Message.objects.create(
        conversation=conversation, role="assistant", status="pending", reply_to=question
    )
    page = member_client.get(f"/chat/{conversation.pk}/").content.decode()
    assert f'class="message-text streaming typing" id="message-{reply.pk}-text"' in page
    assert 'data-copy="message-' not in page  # nothing to copy yet
