from django.urls import path

from apps.traces.api.views import TraceDetailView, TraceListView

urlpatterns = [
    path("traces", TraceListView.as_view(), name="trace-list"),
    path("traces/<str:trace_id>", TraceDetailView.as_view(), name="trace-detail"),
]
