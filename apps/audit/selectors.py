"""Reading the audit log and checking its hash chain."""

from dataclasses import asdict, dataclass

from django.db.models import QuerySet

from apps.audit.constants import CHAIN_HEAD_ID, GENESIS_HASH
from apps.audit.models import AuditChainHead, AuditEvent
from apps.audit.services import event_hash


@dataclass(frozen=True)
class ChainReport:
    intact: bool
    checked: int
    first_broken_id: int | None = None
    reason: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


def audit_event_list(*, action: str | None = None) -> QuerySet[AuditEvent]:
    """Return audit events, newest first, optionally of one action."""
    events = AuditEvent.objects.order_by("-id")
    return events.filter(action=action) if action else events


def audit_chain_verify(*, chunk_size: int = 2000) -> ChainReport:
    """Recompute every hash in order; report the first event that does not match the chain."""
    previous_hash, last_id, checked = GENESIS_HASH, None, 0
    for event in AuditEvent.objects.order_by("id").iterator(chunk_size=chunk_size):
        if event.prev_hash != previous_hash:
            return ChainReport(
                False,
                checked,
                event.pk,
                "previous hash does not match: an event before it was removed or changed",
            )
        if event.hash != _recomputed_hash(event):
            return ChainReport(False, checked, event.pk, "content does not match its hash")
        previous_hash, last_id, checked = event.hash, event.pk, checked + 1
    return _check_head(previous_hash, last_id, checked)


def _recomputed_hash(event: AuditEvent) -> str:
    return event_hash(
        prev_hash=event.prev_hash,
        created_at=event.created_at,
        actor_kind=event.actor_kind,
        actor_id=event.actor_id,
        actor_label=event.actor_label,
        action=event.action,
        target=event.target,
        ip=event.ip,
        details_json=event.details_json,
    )


def _check_head(last_hash: str, last_id: int | None, checked: int) -> ChainReport:
    head = AuditChainHead.objects.filter(pk=CHAIN_HEAD_ID).first()
    if head is None:
        return ChainReport(False, checked, None, "the chain head is missing")
    if head.last_hash != last_hash or head.last_event_id != last_id:
        return ChainReport(
            False, checked, last_id, f"the newest events after #{last_id} were removed"
        )
    return ChainReport(True, checked)
