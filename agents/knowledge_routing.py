from django.urls import path

from agents.consumers import KnowledgeConsumer

websocket_urlpatterns = [
    path("ws/knowledge/", KnowledgeConsumer.as_asgi()),
]
