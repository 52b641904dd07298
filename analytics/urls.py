from django.urls import include, path

from analytics import views

app_name = "analytics"

urlpatterns = [
    path("", views.section_page, name="overview"),
    path("alerts/", views.alerts_page, name="alerts"),
    path("alerts/rules/defaults/", views.alert_rules_defaults, name="alert-rules-defaults"),
    path("alerts/rules/<int:pk>/", views.alert_rule_edit, name="alert-rule-edit"),
    path("alerts/rules/<int:pk>/silence/", views.alert_rule_silence_view, name="alert-rule-silence"),
    path("alerts/<int:pk>/acknowledge/", views.alert_acknowledge_view, name="alert-acknowledge"),
    path("suggestions/", include("analytics.suggestions.urls")),
    path("evaluations/", include("analytics.evaluation.urls")),
    path("conversations/<int:pk>/", views.conversation_handoffs, name="conversation"),
    path("<slug:section>/", views.section_page, name="section"),
    path("<slug:section>/<slug:table>.csv", views.section_csv, name="csv"),
]
