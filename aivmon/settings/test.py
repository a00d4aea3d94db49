"""pytest: production settings over HTTP, a file SQLite (or DATABASE_URL), a private Redis.

The test setup (tests/conftest.py) starts the bundled redis-server on the port chosen here,
unless REDIS_URL names one already running.
"""

import os
import socket
import tempfile
from pathlib import Path

from aivmon.env import env
from aivmon.settings.base import *
from aivmon.settings.base import CACHES, DATABASES, SQLITE_ENGINE


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


AIVMON_TEST_REDIS_EXTERNAL = bool(env.str("REDIS_URL", default=""))
AIVMON_TEST_REDIS_PORT = _free_port()
REDIS_URL = env.str("REDIS_URL", default=f"redis://127.0.0.1:{AIVMON_TEST_REDIS_PORT}/0")
CACHES["default"]["LOCATION"] = REDIS_URL
CELERY_BROKER_URL = REDIS_URL

if DATABASES["default"]["ENGINE"] == SQLITE_ENGINE:
    # A file, not memory, so that a Celery worker or beat started by a test sees the same data.
    # One per pytest process, so that concurrent runs never share (and delete) each other's.
    DATABASES["default"]["TEST"] = {
        "NAME": str(Path(tempfile.gettempdir()) / f"aivmon-test-{os.getpid()}.sqlite3")
    }

ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
SECURE_HSTS_SECONDS = 0
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
AIVMON_HEARTBEAT_INTERVAL_S = 2
CELERY_BEAT_SCHEDULE = {
    "aivmon.core.heartbeat": {
        "task": "aivmon.core.heartbeat",
        "schedule": AIVMON_HEARTBEAT_INTERVAL_S,
        "options": {"queue": "maintenance", "expires": AIVMON_HEARTBEAT_INTERVAL_S},
    },
}
STATIC_ROOT = None  # type: ignore[assignment]
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
# Off-hours detection would make results depend on when the suite runs; its own tests set hours.
AIVMON_SECURITY_BUSINESS_HOURS = "00-24"
AIVMON_SECURITY_BUSINESS_DAYS = "mon-sun"
