from django.urls import path

from analytics.evaluation import views

urlpatterns = [
    path("", views.evaluations_page, name="evaluations"),
    path("import/", views.dataset_import_view, name="evaluation-import"),
    path("datasets/<int:pk>/", views.dataset_page, name="evaluation-dataset"),
    path("datasets/<int:pk>/export.<str:file_format>", views.dataset_export_view, name="evaluation-export"),
    path("datasets/<int:pk>/run/", views.run_start_view, name="evaluation-run-start"),
    path("datasets/<int:pk>/cases/new/", views.case_edit, name="evaluation-case-new"),
    path("datasets/<int:pk>/cases/<int:case_id>/", views.case_edit, name="evaluation-case"),
    path(
        "datasets/<int:pk>/cases/<int:case_id>/delete/", views.case_delete_view, name="evaluation-case-delete"
    ),
    path("runs/<int:pk>/", views.run_page, name="evaluation-run"),
    path("runs/<int:pk>/results/<int:result_id>/", views.result_page, name="evaluation-result"),
    path("runs/<int:pk>/compare/", views.compare_page, name="evaluation-compare"),
]
