from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from accounts.models import Account, Membership
from agents.services import agent_ensure_default
from tests.support.stack import Stack

PASSWORD = "correct-horse-battery"
_counter = itertools.count(1)


@pytest.fixture
def make_account(db):
    def make(slug: str | None = None, **fields) -> Account:
        slug = slug or f"acct{next(_counter)}"
        account = Account.objects.create(slug=slug, name=fields.pop("name", slug.title()), **fields)
        agent_ensure_default(account=account)
        return account

    return make


@pytest.fixture
def make_user(db):
    def make(account: Account | None = None, role: str = Membership.Role.MEMBER, username: str | None = None):
        user = get_user_model().objects.create_user(
            username=username or f"user{next(_counter)}", password=PASSWORD
        )
        if account is not None:
            Membership.objects.create(user=user, account=account, role=role)
        return user

    return make


@pytest.fixture
def account(make_account) -> Account:
    return make_account("acme", name="Acme")


@pytest.fixture
def other_account(make_account) -> Account:
    return make_account("globex", name="Globex")


@pytest.fixture
def member(make_user, account):
    return make_user(account, username="alice")


@pytest.fixture
def outsider(make_user, other_account):
    """A user of another account."""
    return make_user(other_account, username="mallory")


@pytest.fixture
def member_client(member) -> Client:
    client = Client()
    client.force_login(member)
    return client


@pytest.fixture
def outsider_client(outsider) -> Client:
    client = Client()
    client.force_login(outsider)
    return client


@pytest.fixture(autouse=True)
def _fresh_rollout_snapshot() -> Iterator[None]:
    """A flag a test created is rolled back with its transaction, which publishes nothing: this
    process's cached rollout snapshot must not keep deciding later tests' arms with it."""
    from rollout import decision

    decision.local_invalidate()
    yield
    decision.local_invalidate()


@pytest.fixture(autouse=True)
def _stack_workers_settle(request) -> Iterator[None]:
    """A stack test's database is flushed only once its workers are idle: work the test set off
    (an escalation climbing after a denied action, a run's last task) may outlive the test, and
    a flush under a running task deadlocks on PostgreSQL."""
    if request.node.get_closest_marker("stack") is None:
        yield
        return
    request.getfixturevalue("_django_db_helper")  # set up first, so flushed after this settles
    yield
    for running in list(Stack.running):
        running.wait_idle()


@pytest.fixture(scope="session")
def stack(django_db_setup, django_db_blocker) -> Iterator[Stack]:
    """daphne and a Celery worker, shared by the end-to-end tests that only read."""
    running = Stack()
    try:
        running.start_web()
        running.start_worker()
        yield running
    finally:
        running.stop()


@pytest.fixture
def crash_stack(django_db_setup) -> Iterator[Stack]:
    """A stack of its own, with a short lease so a crash test need not wait the
    production 90 s for the recovery of a killed worker's reply."""
    running = Stack(REPLY_LEASE_SECONDS="2")
    try:
        running.start_web()
        running.start_worker()
        yield running
    finally:
        running.stop()


# Browser tests: one watched Chromium (tests/support/browser.py). Every test that uses a page fails
# on a console error, a page error, a failed request or an unexpected response of 400 or more.
@pytest.fixture
def browser_watch():
    from tests.support.browser import BrowserWatch

    return BrowserWatch()


@pytest.fixture
def browser():
    from tests.support.browser import chromium

    with chromium() as launched:
        yield launched


@pytest.fixture
def new_page(browser, browser_watch):
    from tests.support.browser import page_factory

    return page_factory(browser, browser_watch)


@pytest.fixture
def page(new_page):
    return new_page()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    result = yield  # a test that failed already is reported as it failed
    watch = getattr(item, "funcargs", {}).get("browser_watch")
    if watch is not None:
        watch.assert_clean()
    return result


@pytest.fixture
def eager_tasks() -> Iterator[None]:
    """Celery tasks queued by the code under test run at once, in this process."""
    from config.celery import app as celery_app

    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = False


@pytest.fixture
def live_calls(monkeypatch) -> list[tuple]:
    """Every request the live-system tool sends, recorded and answered without a network."""
    import httpx

    calls: list[tuple] = []

    def fake_request(method, url, **kwargs):
        calls.append((method, url))
        return httpx.Response(200, json={}, request=httpx.Request(method, url))

    monkeypatch.setattr("agents.tools.builtin.httpx.request", fake_request)
    return calls


def pytest_collection_modifyitems(session, config, items) -> None:
    """Every test needs an id of its own: pytest-xdist (make test) schedules by id, so tests that
    share one would run once between them and the rest silently never."""
    from collections import Counter

    shared = sorted(nodeid for nodeid, count in Counter(item.nodeid for item in items).items() if count > 1)
    if shared:
        raise pytest.UsageError("tests share an id, so only one of each would run: " + ", ".join(shared))
