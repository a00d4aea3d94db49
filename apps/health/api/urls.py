from django.urls import path

from apps.health.api import views

urlpatterns = [
    path("health/components", views.ComponentListView.as_view(), name="health-components"),
    path(
        "health/components/history",
        views.ComponentHistoryView.as_view(),
        name="health-components-history",
    ),
    path("health/host", views.HostView.as_view(), name="health-host"),
    path("health/code", views.CodeReportView.as_view(), name="health-code"),
    path("health/code/history", views.CodeHistoryView.as_view(), name="health-code-history"),
    path("health/thresholds", views.ThresholdsView.as_view(), name="health-thresholds"),
]
