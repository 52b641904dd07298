"""The chat API through daphne and a real worker, with a bearer token."""

import httpx
import pytest

from accounts.auth import api_token_create

pytestmark = [pytest.mark.stack, pytest.mark.django_db(transaction=True)]


def test_the_routed_chat_api_answers_through_the_worker(stack, member):
    _, token = api_token_create(user=member, name="e2e")
    response = httpx.post(
        f"{stack.base_url}/api/chat/message",
        json={"message": "count=3"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["status"], body["reply"], body["agent"]) == ("complete", "w1 w2 w3", "assistant")
    assert body["arm"] == "multi_agent"  # no rollout flag configured: the shipped system serves
