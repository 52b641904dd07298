from django.urls import path

from agents import knowledge_views, views

app_name = "knowledge"

urlpatterns = [
    path("", knowledge_views.knowledge_index, name="index"),
    path("upload/", knowledge_views.knowledge_upload, name="upload"),
    path("write/", knowledge_views.knowledge_write, name="write"),
    path("try/", knowledge_views.knowledge_try, name="try"),
    path("documents/<int:pk>/reindex/", knowledge_views.knowledge_reindex, name="reindex"),
    path("documents/<int:pk>/delete/", knowledge_views.knowledge_delete, name="delete"),
    path("articles/<int:pk>/", views.knowledge_article, name="article"),
    path("documents/<int:pk>/", views.knowledge_document, name="document"),
]
