import os
import subprocess
import sys

import pytest

from config.settings import celery_broker_url

STRONG_KEY = "k3y-" + "0123456789abcdefghij" * 3


def _import_settings(**env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "ALLOWED_HOSTS", "DJANGO_DEBUG"}}
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env={**clean, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"ALLOWED_HOSTS": "example.com"}, "SECRET_KEY"),
        ({"SECRET_KEY": STRONG_KEY}, "ALLOWED_HOSTS"),
    ],
)
def test_debug_off_refuses_to_start_without_required_variables(env, named):
    result = _import_settings(**env)
    assert result.returncode != 0
    assert f"{named} must be set when DEBUG is off" in result.stderr


def test_debug_off_starts_with_both_variables():
    result = _import_settings(SECRET_KEY=STRONG_KEY, ALLOWED_HOSTS="example.com")
    assert result.returncode == 0, result.stderr


def test_debug_is_off_unless_asked_for():
    from django.conf import settings

    assert settings.DEBUG is False


def test_celery_reaches_a_unix_socket_redis_the_way_kombu_spells_it():
    assert celery_broker_url("unix:///tmp/r.sock") == "redis+socket:///tmp/r.sock"
    assert celery_broker_url("redis://127.0.0.1:6379/3") == "redis://127.0.0.1:6379/3"


def test_celery_settings_lose_nothing(settings):
    from config.celery import app

    conf = app.conf
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
    assert conf.task_soft_time_limit < conf.task_time_limit
    assert conf.broker_transport_options["visibility_timeout"] > conf.task_time_limit
    assert conf.accept_content == ["json"] and conf.task_serializer == "json"
    assert conf.broker_connection_retry_on_startup is True


def test_channel_layer_is_redis_pubsub(settings):
    assert settings.CHANNEL_LAYERS["default"]["BACKEND"] == "channels_redis.pubsub.RedisPubSubChannelLayer"
