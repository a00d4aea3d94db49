from django.urls import path

from apps.ingest import views

urlpatterns = [
    path("v1/metrics", views.otlp_metrics, name="otlp-metrics"),
    path("v1/traces", views.otlp_traces, name="otlp-traces"),
    path("v1/logs", views.otlp_logs, name="otlp-logs"),
]
