from django.urls import path

from apps.privacy.api.views import PrivacyEraseView, PrivacyExportView

urlpatterns = [
    path("privacy/export", PrivacyExportView.as_view(), name="privacy-export"),
    path("privacy/erase", PrivacyEraseView.as_view(), name="privacy-erase"),
]
