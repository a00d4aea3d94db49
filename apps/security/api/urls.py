from django.urls import path

from apps.security.api import views

urlpatterns = [
    path("security/events", views.SecurityEventListView.as_view(), name="security-event-list"),
    path("security/threats", views.ThreatListView.as_view(), name="security-threat-list"),
    path(
        "security/threats/<int:threat_id>/mitigate",
        views.ThreatMitigateView.as_view(),
        name="security-threat-mitigate",
    ),
    path(
        "security/threats/<int:threat_id>/false-positive",
        views.ThreatFalsePositiveView.as_view(),
        name="security-threat-false-positive",
    ),
    path("security/blocklist", views.BlockListView.as_view(), name="security-blocklist"),
    path(
        "security/blocklist/<int:entry_id>",
        views.BlockListEntryView.as_view(),
        name="security-blocklist-entry",
    ),
]
