from django.urls import path

from rollout import views

app_name = "rollout"

urlpatterns = [
    path("", views.rollout_index, name="index"),
    path("<slug:key>/", views.flag_detail, name="flag"),
    path("<slug:key>/change/", views.flag_change, name="flag-change"),
    path("<slug:key>/rollback/", views.flag_rollback_view, name="flag-rollback"),
    path("<slug:key>/overrides/", views.flag_override_view, name="flag-override"),
]
