from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from config.api import api
from config.views import favicon

# A database or Redis outage answers a 503 naming it (JSON for the API and /healthz); anything else
# the styled 500 page. Never a traceback.
handler500 = "config.unavailable.server_error"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="conversations:chat", permanent=False)),
    path("accounts/", include("accounts.urls")),
    path("chat/", include("conversations.urls")),
    path("rollout/", include("rollout.urls")),
    path("runs/", include("orchestration.urls")),
    path("escalations/", include("escalations.urls")),
    path("agents/", include("agents.pages")),
    path("knowledge/", include("agents.urls")),
    path("tools/mcp/", include("agents.mcp.urls")),
    path("analytics/", include("analytics.urls")),
    path("readiness/", include("analytics.release.urls")),
    path("healthz", include("health.urls")),
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    path("favicon.ico", favicon),
]
