from django.urls import path

from apps.alerts.api import views

urlpatterns = [
    path("alerts", views.AlertListView.as_view(), name="alert-list"),
    path("alerts/<int:alert_id>", views.AlertDetailView.as_view(), name="alert-detail"),
    path(
        "alerts/<int:alert_id>/acknowledge",
        views.AlertAcknowledgeView.as_view(),
        name="alert-acknowledge",
    ),
    path("alerts/<int:alert_id>/resolve", views.AlertResolveView.as_view(), name="alert-resolve"),
    path("silences", views.SilenceListView.as_view(), name="silence-list"),
    path("silences/<int:silence_id>", views.SilenceDetailView.as_view(), name="silence-detail"),
    path("alert-rules", views.RuleListView.as_view(), name="alert-rule-list"),
    path("alert-rules/export", views.RuleExportView.as_view(), name="alert-rule-export"),
    path("alert-rules/import", views.RuleImportView.as_view(), name="alert-rule-import"),
    path("alert-rules/<int:rule_id>", views.RuleDetailView.as_view(), name="alert-rule-detail"),
    path("channels", views.ChannelListView.as_view(), name="channel-list"),
    path("channels/<int:channel_id>", views.ChannelDetailView.as_view(), name="channel-detail"),
    path("channels/<int:channel_id>/test", views.ChannelTestView.as_view(), name="channel-test"),
]
