from django.urls import path

from escalations import views

app_name = "escalations"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("table/", views.queue_table, name="queue-table"),
    path("new/", views.escalate_by_hand, name="escalate"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/live/", views.detail_live, name="detail-live"),
    path("<int:pk>/claim/", views.claim, name="claim"),
    path("<int:pk>/assign/", views.assign, name="assign"),
    path("<int:pk>/reply/", views.reply, name="reply"),
    path("<int:pk>/resolve/", views.resolve, name="resolve"),
    path("<int:pk>/promote/", views.promote, name="promote"),
    path("patterns/", views.patterns, name="patterns"),
    path("patterns/<int:pk>/approve/", views.pattern_approve_view, name="pattern-approve"),
    path("patterns/<int:pk>/edit/", views.pattern_edit_view, name="pattern-edit"),
    path("patterns/<int:pk>/retire/", views.pattern_retire_view, name="pattern-retire"),
]
