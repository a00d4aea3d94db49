from django.urls import path

from apps.metrics.api.views import MetricQueryView, SeriesListView

urlpatterns = [
    path("metrics/series", SeriesListView.as_view(), name="metrics-series"),
    path("metrics/query", MetricQueryView.as_view(), name="metrics-query"),
]
