import pytest

pytestmark = pytest.mark.django_db

TOKEN = "monitor-token-for-the-health-tests"


@pytest.fixture(autouse=True)
def _healthz_token(settings):
    settings.HEALTHZ_TOKEN = TOKEN


def details(client):
    """The detailed report, as a monitor holding the token reads it."""
    return client.get("/healthz", headers={"Authorization": f"Bearer {TOKEN}"})


def test_without_a_worker_healthz_is_503_and_names_the_worker(client):
    response = details(client)
    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["worker"]
    assert (
        body["checks"]["database"]["ok"] and body["checks"]["redis"]["ok"] and body["checks"]["model"]["ok"]
    )


@pytest.mark.stack
def test_only_a_worker_consuming_the_apps_queue_counts(client, settings):
    """Another app's worker (or another test run's) on the same Redis answers a ping too, but it
    would never run this app's tasks: /healthz must still say the worker is down."""
    from tests.support.stack import Stack

    elsewhere = Stack(CELERY_QUEUE="another-app")
    ours = Stack(CELERY_QUEUE=settings.CELERY_TASK_DEFAULT_QUEUE)
    try:
        elsewhere.start_worker(concurrency=1)
        worker = details(client).json()["checks"]["worker"]
        assert not worker["ok"]
        assert settings.CELERY_TASK_DEFAULT_QUEUE in worker["detail"]

        ours.start_worker(concurrency=1)
        worker = details(client).json()["checks"]["worker"]
        assert (worker["ok"], worker["detail"]) == (True, "1 worker(s) answered")
    finally:
        elsewhere.stop()
        ours.stop()


def test_an_unreachable_redis_is_named(client, settings, tmp_path):
    settings.REDIS_URL = f"unix://{tmp_path}/nothing.sock"
    body = details(client).json()
    assert "redis" in body["failing"]
    assert body["checks"]["redis"]["detail"]


def test_a_model_without_credentials_is_named(client, settings, monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    settings.LLM_MODEL = "anthropic/claude-sonnet-4-5"
    body = details(client).json()
    assert "model" in body["failing"]
    assert "ANTHROPIC_API_KEY" in body["checks"]["model"]["detail"]


@pytest.mark.stack
def test_with_the_whole_stack_up_healthz_is_200(stack):
    import httpx

    response = httpx.get(f"{stack.base_url}/healthz", timeout=10)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "ok"
