from django.urls import path

from conversations import views

app_name = "conversations"

urlpatterns = [
    path("", views.chat, name="chat"),
    path("new/", views.conversation_create, name="conversation-create"),
    path("list/", views.conversation_list, name="conversation-list"),
    path("<int:pk>/rename/", views.conversation_rename_view, name="conversation-rename"),
    path("<int:pk>/delete/", views.conversation_delete_view, name="conversation-delete"),
    path("<int:pk>/", views.conversation_detail, name="conversation"),
    path("<int:pk>/messages/", views.message_create, name="message-create"),
    path("<int:pk>/messages/<int:message_id>/stop/", views.message_stop, name="message-stop"),
    path("<int:pk>/approvals/<uuid:approval_id>/", views.approval_decide_view, name="approval-decide"),
    path(
        "<int:pk>/tool-calls/<int:call_id>/resolve/", views.tool_call_resolve_view, name="tool-call-resolve"
    ),
    path("<int:pk>/messages/<int:message_id>/feedback/", views.message_feedback, name="message-feedback"),
    path("<int:pk>/messages/<int:message_id>/regenerate/", views.reply_regenerate_view, name="regenerate"),
    path("<int:pk>/messages/<int:message_id>/variant/", views.reply_select_view, name="message-variant"),
]
