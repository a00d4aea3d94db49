"""The Celery application: configuration from Django settings (CELERY_*), tasks from apps."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aivmon.settings.local")

app = Celery("aivmon")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
