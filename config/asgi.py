import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# Under ASGI each request runs in a thread of its own, so a persistent database connection is never
# reused: one stays open per concurrent request (Django's docs: disable them under ASGI). 100 posts at
# once held 95 connections on two web processes and PostgreSQL refused the rest. The web process
# closes each request's connection; workers, whose threads live on, keep theirs (DB_CONN_MAX_AGE).
os.environ["DB_CONN_MAX_AGE"] = "0"
# Django must be set up before anything imports models (the consumers do).
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from agents.knowledge_routing import websocket_urlpatterns as knowledge_websocket_urlpatterns  # noqa: E402
from analytics.evaluation.routing import websocket_urlpatterns as evaluation_websocket_urlpatterns  # noqa: E402
from config import http_limits  # noqa: E402
from conversations.routing import websocket_urlpatterns  # noqa: E402
from escalations.routing import websocket_urlpatterns as escalation_websocket_urlpatterns  # noqa: E402
from orchestration.routing import websocket_urlpatterns as orchestration_websocket_urlpatterns  # noqa: E402

http_limits.install()  # daphne answers oversized lines and headers with 414 / 431

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(
                URLRouter(
                    websocket_urlpatterns
                    + escalation_websocket_urlpatterns
                    + orchestration_websocket_urlpatterns
                    + evaluation_websocket_urlpatterns
                    + knowledge_websocket_urlpatterns
                )
            )
        ),
    }
)
