class Role:
    VIEWER = "viewer"
    OPERATOR = "operator"
    ADMIN = "admin"


# Lowest to highest: each role may do what the roles before it may.
ROLES = (Role.VIEWER, Role.OPERATOR, Role.ADMIN)


class Scope:
    INGEST = "ingest"
    READ = "read"
    WRITE = "write"
    ADMIN = "admin"


SCOPES = (Scope.INGEST, Scope.READ, Scope.WRITE, Scope.ADMIN)

# The role a signed-in user needs for what a key's scope allows. Ingest is for keys only.
SCOPE_MIN_ROLE = {Scope.READ: Role.VIEWER, Scope.WRITE: Role.OPERATOR, Scope.ADMIN: Role.ADMIN}

# A key with the admin scope may also read and write.
SCOPE_IMPLIES = {Scope.ADMIN: {Scope.READ, Scope.WRITE}}

API_KEY_PREFIX = "aivmon"
API_KEY_LAST_USED_RESOLUTION_S = 60

# Apps whose models viewers and operators see in no form: accounts, secrets and the platform.
PRIVATE_APP_LABELS = frozenset(
    {"admin", "auth", "contenttypes", "sessions", "accounts", "audit", "django_celery_beat"}
)
# Model permissions operators hold beyond viewing (app_label.codename); later apps add theirs.
OPERATOR_PERMISSIONS: frozenset[str] = frozenset()


class LoginOutcome:
    SUCCESS = "success"
    FAILURE = "failure"
    LOCKED = "locked"
