import pytest

from conversations.models import Conversation, Message
from conversations.services import conversation_start, message_send

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def conversation(account, member):
    return conversation_start(account=account, user=member)


def test_sending_saves_the_message_and_a_pending_reply_and_queues_it_on_commit(
    conversation, member, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        question, reply = message_send(conversation=conversation, user=member, content="  Hello there  ")
    assert question.content == "Hello there"
    assert question.role == Message.Role.USER
    assert reply.status == Message.Status.PENDING
    assert reply.reply_to == question
    assert reply.agent.slug == "assistant"
    assert len(callbacks) == 1  # the task is enqueued only once the rows are committed
    conversation.refresh_from_db()
    assert conversation.title == "Hello there"


def test_posting_returns_both_messages_at_once(
    member_client, conversation, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks():
        response = member_client.post(f"/chat/{conversation.pk}/messages/", {"message": "Hi"}, **HTMX)
    assert response.status_code == 201
    body = response.content.decode()
    assert 'data-role="user"' in body
    assert 'data-role="assistant"' in body and 'data-status="pending"' in body


def test_first_message_creates_the_conversation_and_redirects(member_client, member):
    response = member_client.post("/chat/new/", {"message": "Where do I start?"}, **HTMX)
    assert response.status_code == 201
    conversation = Conversation.objects.get(user=member)
    assert response["HX-Redirect"] == f"/chat/{conversation.pk}/"
    assert list(conversation.messages.values_list("role", flat=True)) == ["user", "assistant"]


@pytest.mark.parametrize(
    ("content", "expected"),
    [("", "Type a message"), ("   \n ", "Type a message"), ("x" * 8001, "at most 8,000 characters")],
)
def test_bad_messages_get_a_clear_400_and_change_nothing(member_client, conversation, content, expected):
    response = member_client.post(f"/chat/{conversation.pk}/messages/", {"message": content}, **HTMX)
    assert response.status_code == 400
    assert expected in response.content.decode()
    assert response["HX-Retarget"] == "#composer-error"
    assert not Message.objects.exists()


def test_a_message_of_exactly_the_limit_is_accepted(member_client, conversation):
    response = member_client.post(f"/chat/{conversation.pk}/messages/", {"message": "x" * 8000}, **HTMX)
    assert response.status_code == 201


def test_an_empty_first_message_leaves_no_conversation_behind(member_client, member):
    response = member_client.post("/chat/new/", {"message": ""}, **HTMX)
    assert response.status_code == 400
    assert not Conversation.objects.filter(user=member).exists()


def test_a_second_message_while_the_reply_is_running_is_a_409_when_the_account_rejects(
    member_client, conversation, member, account
):
    account.double_texting = account.DoubleTexting.REJECT
    account.save(update_fields=["double_texting"])
    message_send(conversation=conversation, user=member, content="first")
    response = member_client.post(f"/chat/{conversation.pk}/messages/", {"message": "second"}, **HTMX)
    assert response.status_code == 409
    assert "still being written" in response.content.decode()
    assert conversation.messages.count() == 2


def test_posting_to_another_accounts_conversation_is_404_and_changes_nothing(outsider_client, conversation):
    response = outsider_client.post(f"/chat/{conversation.pk}/messages/", {"message": "hi"}, **HTMX)
    assert response.status_code == 404
    assert not conversation.messages.exists()


def test_stopping_another_accounts_reply_is_404(outsider_client, conversation, member):
    _, reply = message_send(conversation=conversation, user=member, content="hi")
    response = outsider_client.post(f"/chat/{conversation.pk}/messages/{reply.pk}/stop/", **HTMX)
    assert response.status_code == 404
    reply.refresh_from_db()
    assert reply.status == Message.Status.PENDING


def test_stopping_a_queued_reply_cancels_it(member_client, conversation, member):
    _, reply = message_send(conversation=conversation, user=member, content="hi")
    response = member_client.post(f"/chat/{conversation.pk}/messages/{reply.pk}/stop/", **HTMX)
    assert response.status_code == 200
    reply.refresh_from_db()
    assert reply.status == Message.Status.CANCELLED
    assert 'data-status="cancelled"' in response.content.decode()


def test_history_renders_in_order_with_the_test_hooks(member_client, conversation, member):
    _question, reply = message_send(conversation=conversation, user=member, content="hello")
    Message.objects.filter(pk=reply.pk).update(status=Message.Status.COMPLETE, content="**hi** back")
    page = member_client.get(f"/chat/{conversation.pk}/").content.decode()
    assert page.index('data-role="user"') < page.index('data-role="assistant"')
    assert 'data-status="complete"' in page and 'data-agent="assistant"' in page
    assert "<strong>hi</strong> back" in page
    assert f'ws-connect="/ws/conversations/{conversation.pk}/"' in page


def test_the_conversation_list_shows_only_my_conversations(
    member_client, conversation, outsider, other_account
):
    conversation.title = "Mine"
    conversation.save()
    theirs = conversation_start(account=other_account, user=outsider)
    theirs.title = "Theirs"
    theirs.save()
    page = member_client.get("/chat/").content.decode()
    assert "Mine" in page and "Theirs" not in page


def test_deciding_another_accounts_approval_is_404(outsider_client, conversation, member):
    from conversations.models import Approval, ToolCall, Turn

    _, reply = message_send(conversation=conversation, user=member, content="hi")
    turn = Turn.objects.create(reply=reply, conversation=conversation)
    call = ToolCall.objects.create(
        conversation=conversation,
        turn=turn,
        tool_slug="ticket_create",
        idempotency_key="k1",
        status="awaiting_approval",
    )
    approval = Approval.objects.create(tool_call=call, conversation=conversation)
    response = outsider_client.post(
        f"/chat/{conversation.pk}/approvals/{approval.public_id}/", {"decision": "approve"}, **HTMX
    )
    assert response.status_code == 404
    approval.refresh_from_db()
    assert approval.decision == "pending"
