"""Regenerate: the last reply is answered again as a new variant, kept beside the earlier ones,
which one can switch back to; later turns read the variant shown."""

import pytest

from conversations.models import Message
from conversations.selectors import messages_for_conversation, model_history
from conversations.services import conversation_start, message_send

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def conversation(account, member):
    return conversation_start(account=account, user=member)


def _answer(reply: Message, text: str) -> Message:
    Message.objects.filter(pk=reply.pk).update(status="complete", content=text)
    reply.refresh_from_db()
    return reply


def _regenerate(client, reply: Message):
    return client.post(f"/chat/{reply.conversation_id}/messages/{reply.pk}/regenerate/", **HTMX)


def test_regenerate_writes_a_new_current_variant_and_keeps_the_first(
    member_client, conversation, member, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        question, first = message_send(conversation=conversation, user=member, content="How?")
    _answer(first, "First answer.")
    with django_capture_on_commit_callbacks() as queued:
        response = _regenerate(member_client, first)
    assert response.status_code == 201
    second = Message.objects.get(reply_to=question, variant=2)
    assert len(queued) == 1  # the worker is asked for the new variant only
    assert second.status == "pending" and second.is_current
    first.refresh_from_db()
    assert not first.is_current and first.content == "First answer."
    assert f'id="message-{second.pk}"' in response.content.decode()
    assert list(messages_for_conversation(conversation=conversation)) == [question, second]


def test_switch_between_variants_and_later_turns_read_the_one_shown(
    member_client, conversation, member, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        question, first = message_send(conversation=conversation, user=member, content="How?")
        _answer(first, "First answer.")
        _regenerate(member_client, first)
        second = _answer(Message.objects.get(reply_to=question, variant=2), "Second answer.")
    page = member_client.get(f"/chat/{conversation.pk}/").content.decode()
    assert "2/2" in page and "First answer." not in page and "Second answer." in page

    response = member_client.post(
        f"/chat/{conversation.pk}/messages/{second.pk}/variant/", {"variant": "1"}, **HTMX
    )
    assert response.status_code == 200 and "First answer." in response.content.decode()
    assert "1/2" in response.content.decode()
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.is_current and not second.is_current

    with django_capture_on_commit_callbacks(execute=False):
        _, next_reply = message_send(conversation=conversation, user=member, content="And then?")
    history = [m["content"] for m in model_history(reply=next_reply) if m["role"] != "system"]
    assert history == ["How?", "First answer.", "And then?"]


def test_only_the_last_reply_and_never_while_one_is_running(
    member_client, conversation, member, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        question, first = message_send(conversation=conversation, user=member, content="How?")
    response = _regenerate(member_client, first)  # still pending
    assert response.status_code == 409 and "still being written" in response.content.decode()
    _answer(first, "First answer.")
    with django_capture_on_commit_callbacks(execute=False):
        _, later = message_send(conversation=conversation, user=member, content="Next?")
    _answer(later, "Later answer.")
    response = _regenerate(member_client, first)
    assert response.status_code == 400 and "Only the last reply" in response.content.decode()
    assert Message.objects.filter(reply_to=question).count() == 1
    page = member_client.get(f"/chat/{conversation.pk}/").content.decode()
    assert page.count("regenerate-form") == 1 and f"/messages/{later.pk}/regenerate/" in page


def test_nobody_else_regenerates_or_switches(outsider_client, conversation, member):
    question = Message.objects.create(conversation=conversation, role="user", content="How?")
    reply = Message.objects.create(
        conversation=conversation, role="assistant", reply_to=question, content="Answer."
    )
    assert _regenerate(outsider_client, reply).status_code == 404
    url = f"/chat/{conversation.pk}/messages/{reply.pk}/variant/"
    assert outsider_client.post(url, {"variant": "1"}, **HTMX).status_code == 404
    assert Message.objects.filter(reply_to=question).count() == 1
