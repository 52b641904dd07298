"""Error pages wear the app's layout: 404 and 403 inside base.html, 500 standalone (no request,
session or database) with the same stylesheet."""

import pytest
from django.test import Client, RequestFactory
from django.urls import get_resolver

pytestmark = pytest.mark.django_db

LAYOUT = '<header class="topbar">'
STYLESHEET = 'href="/static/css/app.css"'


def test_an_unknown_url_is_a_404_page_in_the_layout(member_client):
    response = member_client.get("/no/such/page/")
    assert response.status_code == 404
    page = response.content.decode()
    assert LAYOUT in page and STYLESHEET in page
    assert "Page not found" in page and "/no/such/page/" in page
    assert "alice" in page  # the signed-in header, so it is base.html with the request's context


def test_a_404_page_for_an_anonymous_visitor_still_renders(client):
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    assert LAYOUT in response.content.decode()


def test_a_member_on_analytics_gets_the_403_page_in_the_layout(member_client):
    response = member_client.get("/analytics/")
    assert response.status_code == 403
    page = response.content.decode()
    assert LAYOUT in page and STYLESHEET in page
    assert "Not allowed" in page
    assert "Analytics are for the account&#x27;s operators and admins." in page


def test_an_operator_changing_alert_rules_gets_the_403_page(make_user, account, client):
    operator = make_user(account, role="operator", username="olga")
    client.force_login(operator)
    response = client.post("/analytics/alerts/rules/defaults/")
    assert response.status_code == 403
    page = response.content.decode()
    assert LAYOUT in page and "Only the account&#x27;s admins may change alert rules." in page


def test_the_500_page_renders_without_a_request_context_or_database(django_assert_num_queries):
    handler500 = get_resolver().resolve_error_handler(500)
    request = RequestFactory().get("/broken/")  # no session, no user, no account
    with django_assert_num_queries(0):
        response = handler500(request)
    assert response.status_code == 500
    page = response.content.decode()
    assert LAYOUT in page and STYLESHEET in page
    assert "Something went wrong" in page
    assert 'rel="icon"' in page


def test_a_form_without_its_csrf_token_gets_the_403_page_in_the_layout(member):
    client = Client(enforce_csrf_checks=True)
    client.force_login(member)
    response = client.post("/accounts/logout/")
    assert response.status_code == 403
    page = response.content.decode()
    assert LAYOUT in page and STYLESHEET in page and "This form has expired" in page
