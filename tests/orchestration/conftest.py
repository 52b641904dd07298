from __future__ import annotations

import pytest

from agents.models import AgentInstance, AgentTemplate
from config.celery import app


@pytest.fixture
def eager_celery():
    """Celery tasks run in this process as they are sent, so a run goes from start to
    finish inside the test (a transactional test: on_commit callbacks fire)."""
    # Not propagating: an eager retry re-runs the task and then raises Retry to the sender.
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


@pytest.fixture
def make_agent(db):
    template, _ = AgentTemplate.objects.get_or_create(slug="worker", version="1", defaults={"name": "Worker"})

    def make(account, slug: str, **fields) -> AgentInstance:
        return AgentInstance.objects.create(
            account=account, template=template, slug=slug, name=fields.pop("name", slug.title()), **fields
        )

    return make


@pytest.fixture
def trio(account, make_agent) -> list[AgentInstance]:
    return [make_agent(account, slug) for slug in ("alpha", "beta", "gamma")]
