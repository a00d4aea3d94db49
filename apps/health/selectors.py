"""Reads of system health: code scans, component states and their history, thresholds."""

import orjson
from django.db.models import OuterRef, QuerySet, Subquery
from redis.exceptions import RedisError

from apps.core.redis import redis_client
from apps.health.constants import HOST_FIGURES_KEY
from apps.health.models import (
    CodeComponent,
    CodeScan,
    ComponentState,
    ComponentTransition,
    HealthThresholds,
)


def code_component_list(*, enabled: bool | None = None) -> QuerySet[CodeComponent]:
    """Return the registered code components, by name."""
    components = CodeComponent.objects.all()
    return components if enabled is None else components.filter(enabled=enabled)


def code_component_get(*, name: str) -> CodeComponent | None:
    """Return the code component of that name, or None."""
    return CodeComponent.objects.filter(name=name).first()


def code_scan_latest_list() -> QuerySet[CodeScan]:
    """Return the latest scan of every component."""
    latest = CodeScan.objects.filter(component=OuterRef("component")).order_by(
        "-finished_at", "-id"
    )
    return (
        CodeScan.objects.filter(pk=Subquery(latest.values("pk")[:1]))
        .select_related("component")
        .order_by("component__name")
    )


def code_scan_list(*, component: str | None = None) -> QuerySet[CodeScan]:
    """Return scans (history), of one component or all; newest first."""
    scans = CodeScan.objects.select_related("component")
    if component is not None:
        scans = scans.filter(component__name=component)
    return scans.order_by("-finished_at", "-id")


def component_state_list(*, name: str | None = None) -> QuerySet[ComponentState]:
    """Return the latest state of each checked component (or of one), by name."""
    states = ComponentState.objects.all()
    return states if name is None else states.filter(name=name)


def component_transition_list(*, name: str | None = None) -> QuerySet[ComponentTransition]:
    """Return status changes, newest first."""
    transitions = ComponentTransition.objects.order_by("-at", "-id")
    return transitions if name is None else transitions.filter(name=name)


def thresholds_get() -> HealthThresholds:
    """Return the thresholds row (created with defaults if it is missing)."""
    found = HealthThresholds.objects.order_by("pk").first()
    return found if found is not None else HealthThresholds.objects.create()


def host_figures_latest() -> dict | None:
    """Return the host's latest sampled figures (None: none sampled lately, or Redis is down)."""
    try:
        raw = redis_client().get(HOST_FIGURES_KEY)
    except RedisError:
        return None
    return orjson.loads(raw) if raw else None
