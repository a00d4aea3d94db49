from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.permissions import AllowAny

from apps.core import views as core_views

api_v1 = [
    path("", include("apps.accounts.api.urls")),
    path("", include("apps.audit.api.urls")),
    path("", include("apps.metrics.api.urls")),
    path("", include("apps.traces.api.urls")),
    path("", include("apps.logs.api.urls")),
    path("", include("apps.ingest.api.urls")),
    path("", include("apps.security.api.urls")),
    path("", include("apps.alerts.api.urls")),
    path("", include("apps.testruns.api.urls")),
    path("", include("apps.health.api.urls")),
    path("", include("apps.dashboards.api.urls")),
    path("", include("apps.privacy.api.urls")),
]

urlpatterns = [
    path("healthz", core_views.healthz, name="healthz"),
    path("readyz", core_views.readyz, name="readyz"),
    path("metrics", core_views.metrics, name="metrics"),
    path("accounts/", include("apps.accounts.urls")),
    path("admin/", admin.site.urls),
    path(
        "api/schema/",
        SpectacularAPIView.as_view(permission_classes=[AllowAny], authentication_classes=[]),
        name="schema",
    ),
    path(
        "api/docs/",
        SpectacularSwaggerView.as_view(
            url_name="schema", permission_classes=[AllowAny], authentication_classes=[]
        ),
        name="api-docs",
    ),
    path("api/v1/", include(api_v1)),
    path("otlp/", include("apps.ingest.otlp_urls")),
    path("ui/", include("apps.dashboards.urls")),
    path("", RedirectView.as_view(pattern_name="dashboards:overview"), name="home"),
]

handler400 = "apps.core.errors.bad_request"
handler403 = "apps.core.errors.permission_denied"
handler404 = "apps.core.errors.page_not_found"
handler500 = "apps.core.errors.server_error"
