from django.urls import path

from apps.accounts.api import views

urlpatterns = [
    path("me", views.WhoAmIView.as_view(), name="whoami"),
    path("api-keys", views.ApiKeyListCreateView.as_view(), name="api-key-list"),
    path("api-keys/<int:pk>/revoke", views.ApiKeyRevokeView.as_view(), name="api-key-revoke"),
]
