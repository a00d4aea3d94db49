"""Who a data subject is in the stored telemetry: the attribute and label keys naming a user."""

import hashlib

from django.db.models import Q

# OpenTelemetry's semantic conventions (enduser.id, user.id, user.name) and the usual spellings.
USER_KEYS = ("enduser.id", "user.id", "user.name", "user_id", "userId", "user", "username")
ERASED = "[erased]"


def _values(user_id: str) -> list[str | int]:
    """The JSON values that name the subject: the string, and the number when it is one."""
    values: list[str | int] = [user_id]
    if user_id.isdigit() and len(user_id) < 19:
        values.append(int(user_id))
    return values


def attributes_match(field: str, user_id: str) -> Q:
    """Rows whose JSON `field` holds the subject under one of the user keys."""
    query = Q()
    for key in USER_KEYS:
        for value in _values(user_id):
            query |= Q(**{f"{field}__{key}": value})
    return query


def names_subject(attributes: dict, user_id: str) -> list[str]:
    """The user keys of `attributes` whose value is the subject."""
    wanted = {str(value) for value in _values(user_id)}
    return [key for key in USER_KEYS if key in attributes and str(attributes[key]) in wanted]


def subject_digest(user_id: str) -> str:
    """What the audit log keeps of an erased subject: a digest, never the id itself."""
    return hashlib.blake2b(user_id.encode(), digest_size=16).hexdigest()
