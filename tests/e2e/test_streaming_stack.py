"""daphne and a Celery worker as real processes, real Redis, a real WebSocket."""

import asyncio
import html

import pytest
import websockets

from agents.services import knowledge_articles_load
from conversations.models import Message
from conversations.services import conversation_start
from tests.support.live import FRAME, http_client, ws_headers
from tests.support.stack import Stack

pytestmark = [pytest.mark.stack, pytest.mark.django_db(transaction=True)]


async def _collect(url: str, headers: dict, post, reply_status: str = "complete", timeout: float = 60):
    """Open the socket, then post; gather frames until the reply reaches ``reply_status``."""
    frames: list[tuple[int, str]] = []
    finals: list[str] = []
    async with websockets.connect(url, additional_headers=headers) as socket:
        await asyncio.to_thread(post)
        async with asyncio.timeout(timeout):
            while True:
                data = await socket.recv()
                frames += [(int(seq), html.unescape(text)) for _, seq, text in FRAME.findall(data)]
                if f'data-status="{reply_status}"' in data:
                    finals.append(data)
                    return frames, finals


def test_a_reply_streams_from_the_worker_complete_and_in_order(stack, account, member):
    conversation = conversation_start(account=account, user=member)
    client = http_client(stack.base_url, member)
    url = f"{stack.ws_url}/ws/conversations/{conversation.pk}/"

    def post():
        response = client.post(
            f"/chat/{conversation.pk}/messages/", data={"message": "count=300 delay=0.002"}
        )
        assert response.status_code == 201, response.text

    frames, _ = asyncio.run(_collect(url, ws_headers(stack.base_url, client), post))
    seqs = [seq for seq, _ in frames]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)  # in order, none twice
    assert len(frames) > 1  # streamed in several frames, not delivered at the end
    expected = " ".join(f"w{i}" for i in range(1, 301))
    assert "".join(text for _, text in frames) == expected  # nothing lost, nothing doubled

    reply = Message.objects.get(conversation=conversation, role="assistant")
    assert (reply.status, reply.content, reply.model) == ("complete", expected, "scripted/default")


def test_a_model_failure_reaches_the_browser_as_a_failed_message(stack, account, member):
    conversation = conversation_start(account=account, user=member)
    client = http_client(stack.base_url, member)
    url = f"{stack.ws_url}/ws/conversations/{conversation.pk}/"

    def post():
        assert (
            client.post(f"/chat/{conversation.pk}/messages/", data={"message": "fail=0"}).status_code == 201
        )

    _, finals = asyncio.run(_collect(url, ws_headers(stack.base_url, client), post, reply_status="failed"))
    assert "The model could not answer" in finals[-1]
    assert Message.objects.get(conversation=conversation, role="user").content == "fail=0"


def test_another_accounts_user_cannot_open_the_socket(stack, account, member, outsider):
    conversation = conversation_start(account=account, user=member)
    intruder = http_client(stack.base_url, outsider)

    async def attempt():
        async with websockets.connect(
            f"{stack.ws_url}/ws/conversations/{conversation.pk}/",
            additional_headers=ws_headers(stack.base_url, intruder),
        ):
            pass

    with pytest.raises(websockets.InvalidStatus) as refused:
        asyncio.run(attempt())
    assert refused.value.response.status_code == 403


@pytest.fixture
def offline_stack(django_db_setup):
    """The default configuration: no provider key, the offline knowledge-base model."""
    running = Stack(
        LLM_MODEL="offline/knowledge-base",
        OFFLINE_MODEL_WORD_DELAY_SECONDS="0",
    )
    running.start_web()
    running.start_worker(concurrency=2)
    yield running
    running.stop()


def test_the_default_offline_model_streams_a_grounded_answer(offline_stack, account, member):
    knowledge_articles_load(account=account)
    conversation = conversation_start(account=account, user=member)
    client = http_client(offline_stack.base_url, member)
    url = f"{offline_stack.ws_url}/ws/conversations/{conversation.pk}/"

    def post():
        response = client.post(
            f"/chat/{conversation.pk}/messages/", data={"message": "What does the Team plan cost?"}
        )
        assert response.status_code == 201

    frames, finals = asyncio.run(_collect(url, ws_headers(offline_stack.base_url, client), post, timeout=120))
    assert frames  # streamed
    assert "$49" in finals[-1] and "Pricing Plans" in finals[-1]
    assert "offline/knowledge-base" in finals[-1]  # the page says which model answered
