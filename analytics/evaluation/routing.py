from django.urls import path

from analytics.evaluation.consumers import EvaluationRunConsumer

websocket_urlpatterns = [
    path("ws/evaluation/runs/<int:run_id>/", EvaluationRunConsumer.as_asgi()),
]
