from django.urls import path

from agents import views

app_name = "knowledge"

urlpatterns = [
    path("articles/<int:pk>/", views.knowledge_article, name="article"),
    path("documents/<int:pk>/", views.knowledge_document, name="document"),
]
