"""Production settings: everything comes from the environment (12-factor).

`local.py` relaxes the HTTPS-only parts for `make run` on a laptop; `test.py` is for pytest.
"""

import sys
from datetime import timedelta

from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from aivmon.env import BASE_DIR, env, secret_from_env_or_file, var_dir

VAR_DIR = var_dir()

SECRET_KEY = secret_from_env_or_file("SECRET_KEY", VAR_DIR / "secret_key")
# Encrypts channel secrets at rest (Fernet): a urlsafe base64 32-byte key.
# The file it is generated into (or read from, with AIVMON_SECRETS_KEY_FILE); backups copy it.
AIVMON_SECRETS_KEY_FILE = env.str("AIVMON_SECRETS_KEY_FILE", default=str(VAR_DIR / "secrets_key"))
AIVMON_SECRETS_KEY = secret_from_env_or_file(
    "AIVMON_SECRETS_KEY",
    VAR_DIR / "secrets_key",
    generate=lambda: Fernet.generate_key().decode(),
)
# Online backups of the SQLite database and copies of the key file (apps/backups).
AIVMON_BACKUP_DIR = env.str("AIVMON_BACKUP_DIR", default=str(VAR_DIR / "backups"))
DEBUG = env.bool("AIVMON_DEBUG", default=False)
ALLOWED_HOSTS = env.list("AIVMON_ALLOWED_HOSTS", default=[])
CSRF_TRUSTED_ORIGINS = env.list("AIVMON_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "apps.accounts.admin_config.AivmonAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "apps.core",
    "apps.audit",
    "apps.accounts",
    "apps.metrics",
    "apps.traces",
    "apps.logs",
    "apps.ingest",
    "apps.security",
    "apps.alerts",
    "apps.testruns",
    "apps.health",
    "apps.dashboards",
    "apps.backups",
    "apps.privacy",
]

MIDDLEWARE = [
    "apps.core.middleware.RequestMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "apps.core.middleware.RequestBodyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "aivmon.urls"
WSGI_APPLICATION = "aivmon.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "apps.accounts.context_processors.role",
                "apps.dashboards.context_processors.navigation",
            ],
        },
    },
]

# --- Database: SQLite in WAL mode by default, PostgreSQL through DATABASE_URL -----------------
# How long a write waits for a lock before giving up; ingest then answers 503 + Retry-After.
AIVMON_DB_BUSY_TIMEOUT_MS = env.int("AIVMON_DB_BUSY_TIMEOUT_MS", default=5000)
# Processes that write without deferring checkpoints (workers, beat, commands) checkpoint every
# 10,000 WAL pages (~40 MB) instead of 1,000: a batch of security events alone writes ~4 MB of
# WAL (a leaf of the user and of the IP index per event), and each checkpoint costs fsyncs. Web
# workers checkpoint after their responses instead (apps/core/checkpoints.py). (A 64 MB page
# cache was tried too: with two web workers writing, each one's cache is emptied whenever the
# other commits, so it cost memory and gained nothing over HTTP, measured.)
SQLITE_AUTOCHECKPOINT_PAGES = 10_000
SQLITE_OPTIONS = {
    "transaction_mode": "IMMEDIATE",
    "timeout": AIVMON_DB_BUSY_TIMEOUT_MS / 1000,
    "init_command": (
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
        f"PRAGMA wal_autocheckpoint={SQLITE_AUTOCHECKPOINT_PAGES}; "
        f"PRAGMA busy_timeout={AIVMON_DB_BUSY_TIMEOUT_MS};"
    ),
}


# Django's SQLite backend, but a write transaction waits for the lock in short steps, fairly
# (apps/core/sqlite/base.py).
SQLITE_ENGINE = "apps.core.sqlite"

# Connections are kept between requests: opening one costs ~2 ms, and on SQLite closing the last
# one checkpoints the whole WAL into the database file and deletes it, every request.
AIVMON_DB_CONN_MAX_AGE = env.int("AIVMON_DB_CONN_MAX_AGE", default=60)


def _database_from_env() -> dict:
    url = env.str("DATABASE_URL", default="")
    if not url:
        return {
            "ENGINE": SQLITE_ENGINE,
            "NAME": str(VAR_DIR / "aivmon.sqlite3"),
            "OPTIONS": SQLITE_OPTIONS,
            "CONN_MAX_AGE": AIVMON_DB_CONN_MAX_AGE,
        }
    config = env.db_url_config(url)
    if config["ENGINE"] == "django.db.backends.sqlite3":
        config["ENGINE"] = SQLITE_ENGINE
        config["OPTIONS"] = {**SQLITE_OPTIONS, **config.get("OPTIONS", {})}
        config["CONN_MAX_AGE"] = AIVMON_DB_CONN_MAX_AGE
    elif config["ENGINE"] == "django.db.backends.postgresql":
        config["CONN_MAX_AGE"] = AIVMON_DB_CONN_MAX_AGE
        config["CONN_HEALTH_CHECKS"] = True
        config.setdefault("OPTIONS", {})["options"] = f"-c lock_timeout={AIVMON_DB_BUSY_TIMEOUT_MS}"
    else:
        raise ImproperlyConfigured(f"DATABASE_URL: unsupported engine {config['ENGINE']}")
    return config


DATABASES = {"default": _database_from_env()}
if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    # DRF imports django.contrib.postgres, and with it psycopg (~10 MB a process), whenever
    # psycopg is installed; nothing uses it on SQLite, so that optional import finds nothing.
    sys.modules.setdefault("django.contrib.postgres.fields", None)  # type: ignore[arg-type]
if "requests" not in sys.modules and "rest_framework.compat" not in sys.modules:
    # DRF's compat imports requests (~4.5 MB a process) for its RequestsClient, which nothing
    # here uses: imported with requests hidden, DRF goes without it. Whatever needs requests
    # (the webhook, Slack and GitHub channels) imports it as usual, later.
    sys.modules["requests"] = None  # type: ignore[assignment]
    try:
        import rest_framework.compat  # noqa: F401
    finally:
        del sys.modules["requests"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: the bundled redis-server unless REDIS_URL names another --------------------------
AIVMON_BUNDLED_REDIS_PORT = env.int("AIVMON_REDIS_PORT", default=6389)
REDIS_URL = env.str("REDIS_URL", default=f"redis://127.0.0.1:{AIVMON_BUNDLED_REDIS_PORT}/0")

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "aivmon",
        "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
    }
}

# --- Auth ------------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "dashboards:overview"

# Login protection: failures per username or per IP inside the window lock further attempts.
AIVMON_LOGIN_MAX_FAILURES = env.int("AIVMON_LOGIN_MAX_FAILURES", default=5)
AIVMON_LOGIN_WINDOW_S = env.int("AIVMON_LOGIN_WINDOW_S", default=15 * 60)
# How long a process trusts a looked-up API key (revocations reach other processes this late).
AIVMON_API_KEY_CACHE_S = env.int("AIVMON_API_KEY_CACHE_S", default=10)

# --- Security (secure by default; local.py relaxes HTTPS for a laptop) ------------------------
SECURE_SSL_REDIRECT = env.bool("AIVMON_SECURE_SSL_REDIRECT", default=True)
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env.bool("AIVMON_BEHIND_PROXY", default=False) else None
)
SESSION_COOKIE_SECURE = env.bool("AIVMON_SECURE_COOKIES", default=True)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_HTTPONLY = True
SECURE_HSTS_SECONDS = env.int("AIVMON_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("AIVMON_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("AIVMON_HSTS_PRELOAD", default=False)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# --- Requests ---
# Reverse proxies in front of aivmon whose X-Forwarded-For entries are trusted (0: none).
AIVMON_TRUSTED_PROXIES = env.int("AIVMON_TRUSTED_PROXIES", default=0)
AIVMON_MAX_BODY_BYTES = env.int("AIVMON_MAX_BODY_BYTES", default=10 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = AIVMON_MAX_BODY_BYTES

# --- Ingest ----------------------------------------------------------------------------------
# Items with times outside [now - max age, now + max future] are refused.
AIVMON_INGEST_MAX_AGE_S = env.int("AIVMON_INGEST_MAX_AGE_S", default=30 * 24 * 3600)
AIVMON_INGEST_MAX_FUTURE_S = env.int("AIVMON_INGEST_MAX_FUTURE_S", default=600)
AIVMON_MAX_SERIES_PER_METRIC = env.int("AIVMON_MAX_SERIES_PER_METRIC", default=10_000)
AIVMON_METRICS_SERIES_CACHE_SIZE = env.int("AIVMON_METRICS_SERIES_CACHE_SIZE", default=100_000)
AIVMON_METRICS_QUERY_MAX_SERIES = env.int("AIVMON_METRICS_QUERY_MAX_SERIES", default=1_000)

# --- Security monitoring ---------------------------------------------------------------------
# How long the advisory block list keeps an IP or user of a high / critical threat.
AIVMON_SECURITY_BLOCK_HIGH_S = env.int("AIVMON_SECURITY_BLOCK_HIGH_S", default=3600)
AIVMON_SECURITY_BLOCK_CRITICAL_S = env.int("AIVMON_SECURITY_BLOCK_CRITICAL_S", default=24 * 3600)
# Business hours: the behavioural detector's fallback before it has learned a user's own hours.
AIVMON_SECURITY_BUSINESS_HOURS = env.str("AIVMON_SECURITY_BUSINESS_HOURS", default="08-19")
AIVMON_SECURITY_BUSINESS_DAYS = env.str("AIVMON_SECURITY_BUSINESS_DAYS", default="mon-fri")
AIVMON_SECURITY_TIMEZONE = env.str("AIVMON_SECURITY_TIMEZONE", default="UTC")

# --- Alerting --------------------------------------------------------------------------------
# Links in notifications point here.
AIVMON_PUBLIC_URL = env.str("AIVMON_PUBLIC_URL", default="http://127.0.0.1:8000").rstrip("/")
# How often beat evaluates every rule (down to 1 s); ingest also triggers the rules it touches.
AIVMON_ALERT_EVAL_INTERVAL_S = env.float("AIVMON_ALERT_EVAL_INTERVAL_S", default=15.0)
if AIVMON_ALERT_EVAL_INTERVAL_S < 1:
    raise ImproperlyConfigured("AIVMON_ALERT_EVAL_INTERVAL_S: at least 1 second")
# Changes between firing and resolved within an hour that mark an alert as flapping.
AIVMON_ALERT_FLAP_CHANGES = env.int("AIVMON_ALERT_FLAP_CHANGES", default=6)
AIVMON_ALERT_DELIVERY_ATTEMPTS = env.int("AIVMON_ALERT_DELIVERY_ATTEMPTS", default=5)
AIVMON_ALERT_RETRY_BASE_S = env.float("AIVMON_ALERT_RETRY_BASE_S", default=2.0)
AIVMON_ALERT_RETRY_MAX_S = env.float("AIVMON_ALERT_RETRY_MAX_S", default=3600.0)
AIVMON_ALERT_SEND_TIMEOUT_S = env.float("AIVMON_ALERT_SEND_TIMEOUT_S", default=10.0)
# Outgoing mail for e-mail channels: smtp://user:password@host:587/?tls=True (django-environ);
# the default prints messages to the worker's log.
_EMAIL = env.email_url("EMAIL_URL", default="consolemail://")
EMAIL_BACKEND = _EMAIL["EMAIL_BACKEND"]
EMAIL_HOST = _EMAIL.get("EMAIL_HOST", "localhost")
EMAIL_PORT = _EMAIL.get("EMAIL_PORT", 25)
EMAIL_HOST_USER = _EMAIL.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = _EMAIL.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = _EMAIL.get("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = _EMAIL.get("EMAIL_USE_SSL", False)
DEFAULT_FROM_EMAIL = env.str("AIVMON_FROM_EMAIL", default="aivmon@localhost")

# --- System health ---------------------------------------------------------------------------
# How often beat checks aivmon's components, and samples the host into the metric store.
AIVMON_HEALTH_INTERVAL_S = env.float("AIVMON_HEALTH_INTERVAL_S", default=15.0)
AIVMON_HEALTH_HOST_INTERVAL_S = env.float(
    "AIVMON_HEALTH_HOST_INTERVAL_S", default=AIVMON_HEALTH_INTERVAL_S
)
if min(AIVMON_HEALTH_INTERVAL_S, AIVMON_HEALTH_HOST_INTERVAL_S) < 1:
    raise ImproperlyConfigured("AIVMON_HEALTH_INTERVAL_S, AIVMON_HEALTH_HOST_INTERVAL_S: >= 1 s")
# How long the workers check waits for workers to answer a ping.
AIVMON_HEALTH_WORKER_PING_TIMEOUT_S = env.float("AIVMON_HEALTH_WORKER_PING_TIMEOUT_S", default=1.0)
# How often the code-health scan of every registered component runs.
AIVMON_HEALTH_CODE_SCAN_HOURS = env.float("AIVMON_HEALTH_CODE_SCAN_HOURS", default=24.0)

# --- Static files ----------------------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "var" / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- REST API --------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "apps.accounts.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["apps.accounts.permissions.HasScopeOrRole"],
    "DEFAULT_PARSER_CLASSES": ["apps.core.parsers.OrjsonParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PAGINATION_CLASS": "apps.core.pagination.OpaqueCursorPagination",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "apps.core.errors.api_exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "aivmon API",
    "DESCRIPTION": "Self-hosted monitoring and observability: ingest, query, alerts, audit.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # One name per choice set shared by several fields (status, key_type, ...).
    "ENUM_NAME_OVERRIDES": {
        "KeyTypeEnum": "apps.security.constants.KeyType",
        "ThreatStatusEnum": "apps.security.constants.ThreatStatus",
        "ComponentStatusEnum": "apps.health.constants.Status",
        "CodeStatusEnum": "apps.health.constants.CodeStatus",
        "DeliveryStatusEnum": "apps.alerts.constants.DeliveryStatus",
        "AlertStateEnum": "apps.alerts.constants.AlertState",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "apps.ingest.schema.add_ingest_paths",
        "apps.core.schema.add_probe_paths",
        "apps.core.schema.add_error_responses",
    ],
}

# --- Celery ----------------------------------------------------------------------------------
CELERY_BROKER_URL = REDIS_URL
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TASK_DEFAULT_QUEUE = "maintenance"
CELERY_TASK_ROUTES = {"aivmon.alerts.*": {"queue": "alerts"}}
AIVMON_QUEUES = ["ingest", "detect", "alerts", "maintenance"]
AIVMON_HEARTBEAT_INTERVAL_S = env.int("AIVMON_HEARTBEAT_INTERVAL_S", default=15)

# The whole beat schedule lives here.
CELERY_BEAT_SCHEDULE = {
    "aivmon.core.heartbeat": {
        "task": "aivmon.core.heartbeat",
        "schedule": timedelta(seconds=AIVMON_HEARTBEAT_INTERVAL_S),
        "options": {"queue": "maintenance", "expires": AIVMON_HEARTBEAT_INTERVAL_S},
    },
    "aivmon.metrics.rollup": {
        "task": "aivmon.metrics.rollup",
        "schedule": timedelta(minutes=5),
        "options": {"queue": "maintenance", "expires": 300},
    },
    # Ingest compacts the point head itself; this moves the last seconds once ingest stops.
    "aivmon.metrics.compact": {
        "task": "aivmon.metrics.compact",
        "schedule": timedelta(seconds=10),
        "options": {"queue": "maintenance", "expires": 10},
    },
    "aivmon.metrics.prune": {
        "task": "aivmon.metrics.prune",
        "schedule": timedelta(hours=1),
        "options": {"queue": "maintenance", "expires": 3600},
    },
    "aivmon.traces.prune": {
        "task": "aivmon.traces.prune",
        "schedule": timedelta(minutes=15),
        "options": {"queue": "maintenance", "expires": 15 * 60},
    },
    "aivmon.logs.prune": {
        "task": "aivmon.logs.prune",
        "schedule": timedelta(minutes=15),
        "options": {"queue": "maintenance", "expires": 15 * 60},
    },
    "aivmon.security.prune": {
        "task": "aivmon.security.prune",
        "schedule": timedelta(hours=1),
        "options": {"queue": "maintenance", "expires": 3600},
    },
    "aivmon.alerts.prune": {
        "task": "aivmon.alerts.prune",
        "schedule": timedelta(hours=1),
        "options": {"queue": "maintenance", "expires": 3600},
    },
    "aivmon.testruns.prune": {
        "task": "aivmon.testruns.prune",
        "schedule": timedelta(hours=1),
        "options": {"queue": "maintenance", "expires": 3600},
    },
    "aivmon.backups.run": {
        "task": "aivmon.backups.run",
        "schedule": timedelta(hours=1),
        "options": {"queue": "maintenance", "expires": 3600},
    },
    "aivmon.health.check_components": {
        "task": "aivmon.health.check_components",
        "schedule": timedelta(seconds=AIVMON_HEALTH_INTERVAL_S),
        "options": {"queue": "maintenance", "expires": AIVMON_HEALTH_INTERVAL_S},
    },
    "aivmon.health.sample_host": {
        "task": "aivmon.health.sample_host",
        "schedule": timedelta(seconds=AIVMON_HEALTH_HOST_INTERVAL_S),
        "options": {"queue": "maintenance", "expires": AIVMON_HEALTH_HOST_INTERVAL_S},
    },
    "aivmon.health.scan_code": {
        "task": "aivmon.health.scan_code",
        "schedule": timedelta(hours=AIVMON_HEALTH_CODE_SCAN_HOURS),
        # Components scanned on demand within the last hour are not scanned again.
        "kwargs": {"min_age_s": 3600},
        "options": {"queue": "maintenance", "expires": 3600},
    },
    "aivmon.alerts.tick": {
        "task": "aivmon.alerts.tick",
        "schedule": timedelta(seconds=AIVMON_ALERT_EVAL_INTERVAL_S),
        "options": {"queue": "alerts", "expires": AIVMON_ALERT_EVAL_INTERVAL_S},
    },
}

# --- Error reporting of aivmon itself ----------------------------------------------------------
SENTRY_DSN = env.str("SENTRY_DSN", default="")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {
            "()": "apps.core.logformat.ExtrasFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s",
        }
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("AIVMON_LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

if SENTRY_DSN:
    import sentry_sdk

    sentry_sdk.init(
        dsn=SENTRY_DSN,
        environment=env.str("SENTRY_ENVIRONMENT", default="production"),
        traces_sample_rate=env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0),
        send_default_pii=False,
    )
