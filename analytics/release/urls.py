from django.urls import path

from analytics.release import views

app_name = "readiness"

urlpatterns = [
    path("", views.readiness_page, name="page"),
    path("run/", views.readiness_run, name="run"),
    path("<int:pk>.md", views.readiness_markdown, name="markdown"),
    path("<int:pk>.json", views.readiness_json, name="json"),
]
