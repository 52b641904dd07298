"""Thumbs up and down on replies in the chat."""

import pytest

from escalations.services import escalation_reply
from escalations.triggers import feedback_inspect, reply_inspect
from tests.escalations.conftest import chat_turn, climb

pytestmark = pytest.mark.django_db(transaction=True)

HX = {"HTTP_HX_REQUEST": "true"}


def test_a_reply_can_be_rated_and_a_thumbs_down_escalates_it(account, member, member_client, agents):
    reply = chat_turn(account, member, "hello")
    url = f"/chat/{reply.conversation_id}/messages/{reply.pk}/feedback/"
    page = member_client.get(f"/chat/{reply.conversation_id}/").content.decode()
    assert f'id="message-{reply.pk}-feedback"' in page
    assert member_client.post(url, {"feedback": "sideways"}, **HX).status_code == 400
    response = member_client.post(url, {"feedback": "down"}, **HX)
    assert response.status_code == 200 and 'aria-pressed="true"' in response.content.decode()
    reply.refresh_from_db()
    assert reply.feedback == "down" and reply.feedback_at is not None
    escalation = feedback_inspect(message_id=reply.pk)
    assert escalation.trigger == "thumbs_down" and escalation.message_id == reply.pk
    assert member_client.post(url, {"feedback": ""}, **HX).status_code == 200
    reply.refresh_from_db()
    assert reply.feedback == "" and reply.feedback_at is None


def test_nobody_else_can_rate_it(account, member, agents, outsider_client, make_user):
    from tests.escalations.conftest import client_for

    reply = chat_turn(account, member, "hello")
    url = f"/chat/{reply.conversation_id}/messages/{reply.pk}/feedback/"
    assert outsider_client.post(url, {"feedback": "down"}, **HX).status_code == 404
    assert client_for(make_user(account)).post(url, {"feedback": "down"}, **HX).status_code == 404
    reply.refresh_from_db()
    assert reply.feedback == ""


def test_a_persons_reply_is_marked_and_has_no_thumbs(account, member, member_client, agents, operator):
    reply = chat_turn(account, member, "@assistant: say I don't know. I want to talk to a human")
    escalation = climb(reply_inspect(reply_id=reply.pk))
    message = escalation_reply(escalation=escalation, user=operator, content="Hello, Olivia here.")
    page = member_client.get(f"/chat/{reply.conversation_id}/").content.decode()
    article = page[page.index(f'id="message-{message.pk}"') :]
    article = article[: article.index("</article>")]
    assert "from a person" in article and "olivia" in article and "feedback" not in article
    notice = page[page.index("passed your request to a person") :]
    assert "feedback" not in notice[: notice.index("</article>")]  # a notice is not an answer to rate
