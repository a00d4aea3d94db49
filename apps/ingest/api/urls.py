from django.urls import path

from apps.ingest import security, testruns, views

urlpatterns = [
    path("ingest/metrics", views.native_metrics, name="ingest-metrics"),
    path("ingest/spans", views.native_spans, name="ingest-spans"),
    path("ingest/logs", views.native_logs, name="ingest-logs"),
    path(
        "ingest/security-events",
        security.native_security_events,
        name="ingest-security-events",
    ),
    path("ingest/test-runs", testruns.test_runs, name="ingest-test-runs"),
]
