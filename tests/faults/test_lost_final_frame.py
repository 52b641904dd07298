"""A reply whose last frames were lost (Redis was down while the browser's socket stayed open)
still ends up whole on the page: the browser notices the streaming reply has gone quiet and
re-syncs from the database.

No worker runs here: the reply is finished in the database without publishing anything, which is
exactly what the browser sees when every frame after some point never reached its socket."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

import pytest
from django.db import connections
from playwright.sync_api import expect

from conversations.models import Conversation, Message
from conversations.services import conversation_start
from tests.e2e.test_browser_chat import _log_in
from tests.support.live import wait_for

T = TypeVar("T")

pytestmark = [pytest.mark.stack, pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Counts what the chat's socket delivered, so the test changes the database only after the
# socket's first re-sync, and nothing published could have carried the change.
SOCKET_PROBE = """
window.socketMessages = 0;
document.addEventListener("htmx:wsAfterMessage", function () { window.socketMessages += 1; });
"""

FULL_TEXT = "w1 w2 w3 w4 w5 w6"


def in_thread(work: Callable[[], T]) -> T:
    """Runs database work in a thread of its own: Playwright's sync API keeps an event loop in
    the test's thread, where Django refuses synchronous queries."""
    results: list[T] = []

    def run() -> None:
        try:
            results.append(work())
        finally:
            connections.close_all()  # this thread's connection would keep the test database open

    worker = threading.Thread(target=run)
    worker.start()
    worker.join()
    return results[0]


def _a_reply_streaming(account, member) -> tuple[Conversation, Message]:
    conversation = conversation_start(account=account, user=member)
    question = Message.objects.create(conversation=conversation, role="user", content="count=6")
    reply = Message.objects.create(
        conversation=conversation, role="assistant", status="streaming", content="w1 w2", reply_to=question
    )
    return conversation, reply


def test_a_streaming_reply_whose_final_frames_were_lost_catches_up_from_the_database(
    make_fault_stack, account, member, new_page
):
    stack = make_fault_stack(webs=1, workers=0, beat=False)
    conversation, reply = in_thread(lambda: _a_reply_streaming(account, member))
    page = new_page(viewport={"width": 1366, "height": 768}, init_script=SOCKET_PROBE)
    _log_in(page, stack.web_url(stack.web_ports[0]), member.username)
    page.goto(f"{stack.web_url(stack.web_ports[0])}/chat/{conversation.pk}/")
    # page.evaluate, not wait_for_function: the page's CSP refuses the eval the latter needs.
    wait_for(lambda: page.evaluate("window.socketMessages") >= 1, 15, "the chat's socket sent nothing")
    article = page.locator(f"#message-{reply.pk}")
    expect(article).to_have_attribute("data-status", "streaming")

    # The rest of the reply is written and the reply finished, but no frame reaches the socket.
    in_thread(lambda: Message.objects.filter(pk=reply.pk).update(status="complete", content=FULL_TEXT))

    expect(article).to_have_attribute("data-status", "complete", timeout=15_000)
    expect(article.locator(".message-text")).to_have_text(FULL_TEXT)
