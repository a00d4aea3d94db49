"""A small Django project instrumented with aivmon_sdk.django.Middleware (run in a subprocess:
the test process itself runs aivmon's settings)."""

import os

SECRET_KEY = "sdk-test-project"  # noqa: S105
DEBUG = False
ALLOWED_HOSTS = ["testserver"]
ROOT_URLCONF = "tests.sdk.django_project.urls"
INSTALLED_APPS = ["django.contrib.auth", "django.contrib.contenttypes", "django.contrib.sessions"]
MIDDLEWARE = [
    "aivmon_sdk.django.Middleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
USE_TZ = True
AIVMON_SDK = {
    "service_name": "django-shop",
    "endpoint": os.environ["AIVMON_URL"],
    "api_key": os.environ["AIVMON_KEY"],
    "spool_path": os.environ["AIVMON_SPOOL_PATH"],
    "set_global": False,
}
