"""Scale-out: two daphne processes and two workers on one database and one Redis.

A reply streams to a socket held by one web process while its message was posted to the other,
with each worker writing one of two concurrent replies, every character once; and a rollout
change made through one web process is seen by all four processes within
``ROLLOUT_CHECK_SECONDS``."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from django.conf import settings

from accounts.auth import api_token_create
from accounts.models import Membership
from conversations.models import Message
from conversations.services import conversation_start
from rollout.decision import MULTI_AGENT_FLAG
from rollout.models import FlagChange
from rollout.services import flag_create
from tests.support.faults import SocketView, counted_words, follow
from tests.support.live import http_client, ws_headers

pytestmark = [pytest.mark.stack, pytest.mark.django_db(transaction=True)]

WORDS = 200


def test_socket_on_one_web_process_post_on_the_other_streams_every_character_once(
    scaled_stack, account, make_user
):
    scaled = scaled_stack
    first, second = scaled.web_ports
    # One task at a time per worker (the shared stack's), so two concurrent replies are written by
    # different workers; where each worker's log ends now, to read what this test made it do.
    offsets = {name: scaled.worker_log(name).stat().st_size for name in scaled.live_workers()}
    users = [make_user(account), make_user(account)]
    conversations = [conversation_start(account=account, user=user) for user in users]
    # Each conversation's socket on one web process, its message posted to the other.
    layout = [(conversations[0], users[0], first, second), (conversations[1], users[1], second, first)]
    clients = {}
    for _conversation, user, socket_port, post_port in layout:
        socket_client = http_client(scaled.web_url(socket_port), user)
        post_client = http_client(scaled.web_url(post_port), user)
        post_client.cookies = socket_client.cookies  # one browser session, two web processes
        post_client.headers["X-CSRFToken"] = socket_client.headers["X-CSRFToken"]
        clients[user.pk] = socket_client, post_client

    async def one(conversation, user, socket_port, post_port) -> tuple[SocketView, int]:
        socket_client, post_client = clients[user.pk]
        view = SocketView()
        url = f"{scaled.ws_url_of(socket_port)}/ws/conversations/{conversation.pk}/"
        watcher = asyncio.create_task(
            follow(view, lambda: [url], ws_headers(scaled.web_url(socket_port), socket_client))
        )
        await asyncio.sleep(0.5)
        response = await asyncio.to_thread(
            post_client.post,
            f"/chat/{conversation.pk}/messages/",
            data={"message": f"count={WORDS} delay=0.01"},
        )
        assert response.status_code == 201, response.text
        return view, await watcher

    async def both():
        return await asyncio.gather(*(one(*args) for args in layout))

    results = asyncio.run(both())
    for (conversation, *_), (view, reconnects) in zip(layout, results, strict=True):
        reply = Message.objects.get(conversation=conversation, role="assistant")
        assert (reply.status, reply.content) == ("complete", counted_words(WORDS))
        assert reply.attempts == 1 and reconnects == 0
        assert view.frames > 1  # streamed across processes, not delivered at the end
        assert view.check_against(reply.pk, reply.content) == []
        assert Message.objects.filter(conversation=conversation, role="user").count() == 1

    # Both workers wrote a reply.
    for name, offset in offsets.items():
        with scaled.worker_log(name).open() as log:
            log.seek(offset)
            assert "generate_reply" in log.read(), f"{name} wrote no reply"


def test_a_rollout_change_reaches_all_four_processes_within_the_check_interval(
    scaled_stack, account, make_user
):
    scaled = scaled_stack
    admin = make_user(account, role=Membership.Role.ADMIN)
    member = make_user(account)
    _, token = api_token_create(user=admin, name="scale-out")
    flag_create(key=MULTI_AGENT_FLAG, actor=None, reason="scale-out test", source=FlagChange.Source.COMMAND)
    # The flag was created by this test process, whose Redis is not the stack's: announce it there.
    scaled.redis.client().incr(f"{scaled.env['CACHE_PREFIX']}:rollout:version")
    headers = {"Authorization": f"Bearer {token}"}
    api = f"/api/accounts/{account.slug}/flags/{MULTI_AGENT_FLAG}"

    def decisions() -> dict[str, str]:
        seen = {}
        for port in scaled.web_ports:
            response = httpx.get(f"{scaled.web_url(port)}{api}/users/{member.username}", headers=headers)
            assert response.status_code == 200, response.text
            seen[f"web:{port}"] = response.json()["reason"]
        replies = scaled.control.control.broadcast(
            "rollout_decision",
            arguments={"flag": MULTI_AGENT_FLAG, "account_id": account.pk, "user_id": member.pk},
            destination=scaled.live_workers(),
            reply=True,
            timeout=2,
        )
        for reply in replies:
            for worker, answer in reply.items():
                seen[f"worker:{worker}"] = answer["reason"]
        return seen

    deadline = time.monotonic() + 30
    while (seen := decisions()) and set(seen.values()) != {"off"} and time.monotonic() < deadline:
        time.sleep(0.2)
    assert len(seen) == 4 and set(seen.values()) == {"off"}, seen  # every process sees the new flag

    response = httpx.patch(
        f"{scaled.web_url(scaled.web_ports[0])}{api}",
        headers=headers,
        json={"phase": "full", "percentage": 100, "reason": "scale-out", "override_gates": True},
    )
    assert response.status_code == 200, response.text
    time.sleep(settings.ROLLOUT_CHECK_SECONDS)
    assert decisions() == dict.fromkeys(seen, "bucket_in")
