from django.urls import path

from apps.logs.api.views import LogListView

urlpatterns = [path("logs", LogListView.as_view(), name="log-list")]
