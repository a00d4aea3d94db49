BACKUP_PREFIX = "aivmon-"
BACKUP_SUFFIX = ".sqlite3"
REPLACED_PREFIX = "replaced-"
KEY_DIR = "keys"
STAMP_FORMAT = "%Y%m%dT%H%M%S%fZ"
LOCK_NAME = "backups"
LOCK_TIMEOUT_S = 3600
# Tables only an aivmon database has: a restore refuses files without them.
REQUIRED_TABLES = ("django_migrations", "auth_user", "audit_auditevent")
