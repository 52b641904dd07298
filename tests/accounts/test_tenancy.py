import pytest
from django.test import Client
from django.urls import reverse

from accounts.middleware import SESSION_ACCOUNT_KEY
from conversations.services import conversation_start

pytestmark = pytest.mark.django_db


def test_login_page_has_the_standard_fields(client):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    assert b'name="username"' in response.content
    assert b'name="password"' in response.content


def test_logging_in_lands_on_the_chat(client, member):
    response = client.post("/accounts/login/", {"username": "alice", "password": "correct-horse-battery"})
    assert response.status_code == 302
    assert response.url == reverse("conversations:chat")


def test_wrong_password_says_so(client, member):
    response = client.post("/accounts/login/", {"username": "alice", "password": "nope"})
    assert response.status_code == 200
    assert b"didn't match" in response.content


def test_anonymous_users_are_sent_to_login(client):
    response = client.get("/chat/")
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/")


def test_user_without_an_account_is_told_so(make_user):
    client = Client()
    client.force_login(make_user(None))
    response = client.get("/chat/")
    assert response.status_code == 403
    assert b"belong to an account" in response.content


def test_logout_is_a_post(member_client):
    assert member_client.post("/accounts/logout/").status_code == 302
    assert member_client.get("/chat/").status_code == 302


def test_another_accounts_conversation_is_404(member_client, outsider, other_account):
    foreign = conversation_start(account=other_account, user=outsider)
    assert member_client.get(f"/chat/{foreign.pk}/").status_code == 404


def test_another_users_conversation_in_the_same_account_is_404(make_user, account, member_client):
    colleague = make_user(account)
    theirs = conversation_start(account=account, user=colleague)
    assert member_client.get(f"/chat/{theirs.pk}/").status_code == 404


def test_switcher_changes_the_current_account(make_user, account, other_account):
    user = make_user(account)
    from accounts.services import membership_ensure

    membership_ensure(user=user, account=other_account)
    client = Client()
    client.force_login(user)
    page = client.get("/chat/")
    assert b"Globex" in page.content and b"Acme" in page.content  # the switcher lists both

    response = client.post("/accounts/switch/", {"account": "globex"})
    assert response.status_code == 302
    assert client.session[SESSION_ACCOUNT_KEY] == other_account.pk

    # Objects of the account left behind are out of scope now.
    in_acme = conversation_start(account=account, user=user)
    assert client.get(f"/chat/{in_acme.pk}/").status_code == 404


def test_switching_to_an_account_you_do_not_belong_to_is_404(member_client, other_account):
    assert member_client.post("/accounts/switch/", {"account": "globex"}).status_code == 404
