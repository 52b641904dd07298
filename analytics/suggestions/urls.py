"""Included by ``analytics/urls.py`` under ``suggestions/`` (names in the ``analytics`` namespace)."""

from django.urls import path

from analytics.suggestions import views

urlpatterns = [
    path("", views.suggestions_page, name="suggestions"),
    path("refresh/", views.suggestions_refresh_view, name="suggestions-refresh"),
    path("<int:pk>/accept/", views.suggestion_accept_view, name="suggestion-accept"),
    path("<int:pk>/dismiss/", views.suggestion_dismiss_view, name="suggestion-dismiss"),
]
