"""Reads for the system-health page: component states, the latest code scans with the score
before each, and the stubs the latest scans found."""

from dataclasses import dataclass

from django.db.models import OuterRef, QuerySet, Subquery

from apps.health import selectors as health
from apps.health.models import CodeScan, ComponentState

MAX_STUBS_SHOWN = 100
MAX_DETAILS_SHOWN = 4


@dataclass(frozen=True, slots=True)
class Stub:
    component: str
    location: str
    name: str
    reason: str


def component_states() -> list[ComponentState]:
    """Return every checked component's latest state, by name."""
    return list(health.component_state_list())


def details_shown(details: dict) -> str:
    """Return a component's first details as `key: value` text."""
    items = list(details.items())[:MAX_DETAILS_SHOWN]
    return ", ".join(f"{key}: {value}" for key, value in items)


def code_scans_latest() -> QuerySet[CodeScan]:
    """Return each component's latest scan, with the score of the scan before it."""
    before = CodeScan.objects.filter(
        component=OuterRef("component"), finished_at__lt=OuterRef("finished_at")
    ).order_by("-finished_at", "-id")
    return health.code_scan_latest_list().annotate(
        previous_score=Subquery(before.values("score")[:1])
    )


def stubs_of(scans: list[CodeScan]) -> tuple[list[Stub], int]:
    """Return the stubs of these scans (at most MAX_STUBS_SHOWN) and how many there are."""
    stubs = [
        Stub(
            scan.component.name,
            stub.get("location", ""),
            stub.get("name", ""),
            stub.get("reason", ""),
        )
        for scan in scans
        for stub in scan.stubs
    ]
    return stubs[:MAX_STUBS_SHOWN], len(stubs)
