from django.urls import path

from apps.testruns.api import views

urlpatterns = [
    path("testruns", views.RunListView.as_view(), name="testrun-list"),
    path("testruns/<int:pk>", views.RunDetailView.as_view(), name="testrun-detail"),
]
