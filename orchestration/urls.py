from django.urls import path

from orchestration import views

app_name = "orchestration"

urlpatterns = [
    path("", views.run_list, name="runs"),
    path("new/", views.run_create, name="run-create"),
    path("new/estimate/", views.run_estimate_view, name="run-estimate"),
    path("<int:pk>/", views.run_detail, name="run"),
    path("<int:pk>/cancel/", views.run_cancel_view, name="run-cancel"),
]
