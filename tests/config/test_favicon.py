"""Every page's icon answers: pages that name one (the app, admin, the API docs) and those that do
not, for which browsers ask /favicon.ico (/healthz, any JSON opened in a tab)."""

import re

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

ICON_LINK = re.compile(r'<link rel="icon" href="([^"]+)"')


def _fetch_icon(client: Client, url: str) -> bytes:
    response = client.get(url, follow=True)
    assert response.status_code == 200, url
    assert response["Content-Type"].startswith("image/svg+xml"), url
    return b"".join(response.streaming_content)


def test_favicon_ico_redirects_to_the_apps_icon(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 302
    assert response["Location"] == "/static/favicon.svg"
    assert b"<svg" in _fetch_icon(client, "/favicon.ico")


def test_favicon_ico_answers_anonymous_and_signed_in_visitors(client, member_client):
    assert _fetch_icon(client, "/favicon.ico") == _fetch_icon(member_client, "/favicon.ico")


@pytest.mark.parametrize(
    ("path", "signed_in"),
    [("/accounts/login/", False), ("/admin/login/", False), ("/api/docs", False), ("/healthz", False),
     ("/chat/", True), ("/no/such/page/", True)],
)  # fmt: skip
def test_the_icon_of_every_kind_of_page_answers(client, member_client, path, signed_in):
    client = member_client if signed_in else client
    response = client.get(path)
    assert response.status_code in (200, 404, 503), path  # /healthz is 503 with no worker running
    body = response.content.decode() if not response.streaming else ""
    named = ICON_LINK.findall(body)
    for href in named or ["/favicon.ico"]:  # a page that names none makes the browser ask /favicon.ico
        assert b"<svg" in _fetch_icon(client, href), (path, href)


def test_admin_and_api_docs_name_the_apps_icon(client, admin_client):
    for visitor, path in ((admin_client, "/admin/"), (client, "/admin/login/"), (client, "/api/docs")):
        response = visitor.get(path)
        assert response.status_code == 200, path
        assert ICON_LINK.findall(response.content.decode()) == ["/static/favicon.svg"], path
