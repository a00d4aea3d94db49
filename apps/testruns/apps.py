from django.apps import AppConfig


class TestrunsConfig(AppConfig):
    name = "apps.testruns"
    label = "testruns"
