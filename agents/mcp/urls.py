from django.urls import path

from agents.mcp import views

app_name = "mcp"

urlpatterns = [
    path("", views.mcp_servers, name="servers"),
    path("register/", views.mcp_server_register, name="register"),
    path("<int:server_id>/discover/", views.mcp_server_discover_tools, name="discover"),
    path("<int:server_id>/remove/", views.mcp_server_remove, name="remove"),
    path("<int:server_id>/tools/<int:tool_id>/gate/", views.mcp_tool_gate, name="gate"),
]
