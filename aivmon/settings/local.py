"""`make run` on a laptop: production settings over plain HTTP on 127.0.0.1."""

from aivmon.env import env
from aivmon.settings.base import *

ALLOWED_HOSTS = env.list("AIVMON_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
SECURE_SSL_REDIRECT = env.bool("AIVMON_SECURE_SSL_REDIRECT", default=False)
SESSION_COOKIE_SECURE = env.bool("AIVMON_SECURE_COOKIES", default=False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = env.int("AIVMON_HSTS_SECONDS", default=0)
