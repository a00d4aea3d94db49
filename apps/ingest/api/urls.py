from django.urls import path

from apps.ingest import views

urlpatterns = [
    path("ingest/metrics", views.native_metrics, name="ingest-metrics"),
    path("ingest/spans", views.native_spans, name="ingest-spans"),
    path("ingest/logs", views.native_logs, name="ingest-logs"),
]
