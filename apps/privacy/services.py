"""Erasure of a data subject in every app, in bounded batches, recorded in the audit log.

Security events, user-keyed threats and block-list entries, log records naming the subject and
metric series labelled with it (points and rollups with them) are deleted; spans are kept for
their traces' sake with the subject's attribute values replaced by "[erased]". The audit log is
append-only and hash-chained: its rows stay, and the erasure itself is recorded there with the
counts and a digest of the subject, never the id.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import QuerySet

from apps.audit.services import SYSTEM, Actor, audit_record
from apps.logs.services import logs_delete
from apps.metrics.erasure import series_erase
from apps.privacy import selectors
from apps.privacy.subjects import ERASED, names_subject, subject_digest
from apps.traces.models import Span

BATCH = 1000


@dataclass
class ErasureReport:
    counts: dict[str, dict[str, int]] = field(default_factory=dict)

    def add(self, app: str, what: str, count: int) -> None:
        self.counts.setdefault(app, {})[what] = count

    def totals(self) -> dict[str, int]:
        return {app: sum(parts.values()) for app, parts in self.counts.items()}


def subject_erase(*, user_id: str, actor: Actor = SYSTEM, ip: str | None = None) -> ErasureReport:
    """Erase everything stored about `user_id`; return the counts per app and kind."""
    report = ErasureReport()
    # Threats first: deleting events would otherwise leave their links to cascade one by one.
    for what, select in (
        ("threats", selectors.threats),
        ("blocklist", selectors.blocklist),
        ("events", selectors.security_events),
    ):
        report.add("security", what, _delete_in_batches(select, user_id))
    report.add("logs", "records", _logs_erase(user_id))
    report.add("traces", "spans_anonymised", _spans_anonymise(user_id))
    report.add("metrics", "series", _series_erase(user_id))
    audit_record(
        action="privacy.erased",
        actor=actor,
        target=f"subject:{subject_digest(user_id)}",
        ip=ip,
        details={"counts": report.counts},
    )
    return report


def _delete_in_batches(select: Callable[[str], QuerySet], user_id: str) -> int:
    """Delete the rows `select(user_id)` finds, BATCH at a time; return how many."""
    total = 0
    while ids := list(select(user_id).values_list("id", flat=True)[:BATCH]):
        with transaction.atomic():
            select(user_id).model.objects.filter(id__in=ids).delete()
        total += len(ids)
    return total


def _logs_erase(user_id: str) -> int:
    total = 0
    while ids := list(selectors.log_records(user_id).values_list("id", flat=True)[:BATCH]):
        total += logs_delete(ids=ids)
    return total


def _spans_anonymise(user_id: str) -> int:
    total = 0
    while batch := list(selectors.spans(user_id).only("id", "attributes")[:BATCH]):
        named = [(span, names_subject(span.attributes, user_id)) for span in batch]
        if not any(keys for _, keys in named):
            break  # matched by the database but by no key here: nothing left to replace
        for span, keys in named:
            span.attributes.update(dict.fromkeys(keys, ERASED))
        with transaction.atomic():
            Span.objects.bulk_update(batch, ["attributes"])
        total += len(batch)
    return total


def _series_erase(user_id: str) -> int:
    total = 0
    while ids := list(selectors.metric_series(user_id).values_list("id", flat=True)[:BATCH]):
        total += series_erase(ids=ids)
    return total
