"""Appending to the audit log."""

import hashlib
import ipaddress
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from django.db import transaction
from django.utils import timezone

from apps.audit.constants import CHAIN_HEAD_ID, GENESIS_HASH, ActorKind
from apps.audit.models import AuditChainHead, AuditEvent

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Actor:
    """Who did something: a user, an API key, the system itself, or an anonymous client."""

    kind: str
    id: str = ""
    label: str = ""


SYSTEM = Actor(ActorKind.SYSTEM, "", "system")


def canonical_details(details: dict[str, Any] | None) -> str:
    """Return details as canonical JSON (sorted keys, no spaces), the form that is hashed."""
    return orjson.dumps(details or {}, option=orjson.OPT_SORT_KEYS, default=str).decode()


def normalize_ip(raw: str | None) -> str:
    """Return the canonical text of an IP address, or "" when absent or not an address."""
    if not raw:
        return ""
    try:
        return str(ipaddress.ip_address(raw.strip()))
    except ValueError:
        return ""


def event_hash(
    *,
    prev_hash: str,
    created_at: datetime,
    actor_kind: str,
    actor_id: str,
    actor_label: str,
    action: str,
    target: str,
    ip: str,
    details_json: str,
) -> str:
    """Return the SHA-256 of one event's content joined to the previous event's hash."""
    material = orjson.dumps(
        [
            prev_hash,
            created_at.astimezone(UTC).isoformat(),
            actor_kind,
            actor_id,
            actor_label,
            action,
            target,
            ip,
            details_json,
        ]
    )
    return hashlib.sha256(material).hexdigest()


def audit_record(
    *,
    action: str,
    actor: Actor = SYSTEM,
    target: str = "",
    ip: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event to the chain, serialised on the chain head row."""
    fields = {
        "actor_kind": actor.kind,
        "actor_id": str(actor.id)[:64],
        "actor_label": str(actor.label)[:150],
        "action": action[:64],
        "target": target[:255],
        "ip": normalize_ip(ip),
        "details_json": canonical_details(details),
    }
    with transaction.atomic():
        # Created on first use; recreating a deleted head cannot hide tampering, since the
        # next event would then start a second chain that verification reports.
        head, _ = AuditChainHead.objects.select_for_update().get_or_create(
            pk=CHAIN_HEAD_ID, defaults={"last_hash": GENESIS_HASH}
        )
        created_at = timezone.now()
        digest = event_hash(prev_hash=head.last_hash, created_at=created_at, **fields)
        event = AuditEvent.objects.create(
            created_at=created_at, prev_hash=head.last_hash, hash=digest, **fields
        )
        AuditChainHead.objects.filter(pk=CHAIN_HEAD_ID).update(
            last_event_id=event.pk, last_hash=digest
        )
    logger.info("audit.recorded", extra={"action": action, "audit_event_id": event.pk})
    return event
