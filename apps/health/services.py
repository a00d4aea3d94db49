"""Writes of system health: defaults, code scans, the latest state of each checked component."""

import logging
import time
from datetime import datetime
from pathlib import Path

import orjson
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from redis.exceptions import RedisError

from apps.alerts import triggers
from apps.core.redis import redis_client
from apps.health import checks, host, scanner
from apps.health.constants import (
    DEFAULT_COMPONENT,
    DEFAULT_COMPONENT_PATH,
    HOST_FIGURES_KEY,
    HOST_FIGURES_TTL_S,
    CodeStatus,
)
from apps.health.models import (
    CodeComponent,
    CodeScan,
    ComponentState,
    ComponentTransition,
    HealthThresholds,
)
from apps.health.selectors import host_figures_latest, thresholds_get
from apps.metrics.services import points_write

logger = logging.getLogger(__name__)


def defaults_ensure() -> None:
    """Create the thresholds row and the default code component (aivmon's apps/) if missing."""
    if not HealthThresholds.objects.exists():
        HealthThresholds.objects.create()
    if not CodeComponent.objects.exists():
        CodeComponent.objects.create(name=DEFAULT_COMPONENT, path=DEFAULT_COMPONENT_PATH)


def component_path(component: CodeComponent) -> Path:
    """Return the folder a component names; a relative path is under BASE_DIR."""
    path = Path(component.path)
    return path if path.is_absolute() else Path(settings.BASE_DIR) / path


def code_scan_run(*, component: CodeComponent) -> CodeScan:
    """Scan one component's source now and keep the result as its newest scan."""
    started_at, began = timezone.now(), time.perf_counter()
    path = component_path(component)
    if not path.exists():
        report, error = scanner.TreeReport(), f"{path} does not exist"
    else:
        report, error = scanner.tree_scan(path), ""
    scan = CodeScan.objects.create(
        component=component,
        started_at=started_at,
        finished_at=timezone.now(),
        duration_ms=round((time.perf_counter() - began) * 1000),
        status=CodeStatus.UNHEALTHY if error else report.status,
        error=error,
        **_figures(report),
    )
    logger.info(
        "health.code.scanned",
        extra={"component": component.name, "score": scan.score, "stubs": scan.stub_count},
    )
    return scan


def code_scans_run(
    *, names: list[str] | None = None, not_since: datetime | None = None
) -> list[CodeScan]:
    """Scan the enabled components (all, or those named), skipping those scanned at or after
    `not_since`; return the new scans."""
    components = CodeComponent.objects.filter(enabled=True)
    if names is not None:
        components = components.filter(name__in=names)
    if not_since is not None:
        components = components.exclude(scans__finished_at__gte=not_since)
    return [code_scan_run(component=component) for component in components]


def _figures(report: scanner.TreeReport) -> dict:
    return {
        "score": report.score,
        "implementation_score": report.implementation,
        "functionality_score": report.functionality,
        "completeness_score": report.completeness,
        "files": report.files,
        "lines": report.lines,
        "functions": report.counts.functions,
        "stub_count": report.stub_count,
        "stubs": [
            {"location": stub.location, "name": stub.name, "reason": stub.reason}
            for stub in report.stubs
        ],
        "syntax_errors": report.syntax_errors,
    }


@transaction.atomic
def component_state_record(*, name: str, status: str, details: dict, at: datetime) -> bool:
    """Store a component's latest check; return True when its status changed (history kept)."""
    state = ComponentState.objects.select_for_update().filter(name=name).first()
    if state is not None and state.checked_at > at:
        return False  # an older check finishing late never overwrites a newer one
    previous = state.status if state is not None else ""
    changed = previous != status
    if state is None:
        state = ComponentState(name=name, changed_at=at)
    if changed:
        state.changed_at = at
        ComponentTransition.objects.create(
            name=name, from_status=previous, to_status=status, at=at, details=details
        )
    state.status, state.checked_at, state.details = status, at, details
    state.save()
    return changed


def components_check(*, now: datetime) -> list[str]:
    """Run every component check and store the results; return the components whose status
    changed (rules of the health kind are then evaluated at once)."""
    changed = [
        check.name
        for check in checks.checks_run(thresholds_get(), now=now)
        if component_state_record(
            name=check.name, status=check.status, details=check.details, at=now
        )
    ]
    if changed:
        logger.info("health.components.changed", extra={"components": changed})
        try:
            triggers.kind_changed("health")
        except RedisError as exc:  # Redis is down: the periodic alert tick evaluates them later
            logger.warning("health.trigger.failed", extra={"error": str(exc)})
    return changed


def host_sample_record(*, ts_ms: int) -> int:
    """Sample the host into the metric store and keep its figures as the latest; return how
    many points were stored."""
    sample = host.host_sample(ts_ms=ts_ms)
    result = points_write(points=sample.points())
    if result.rejected:
        logger.warning("health.host.rejected", extra={"rejected": result.rejected[:5]})
    figures = host.host_figures(sample, host_figures_latest())
    try:
        redis_client().set(HOST_FIGURES_KEY, orjson.dumps(figures), ex=HOST_FIGURES_TTL_S)
    except RedisError as exc:  # the points are stored; only the API's snapshot is late
        logger.warning("health.host.snapshot_failed", extra={"error": str(exc)})
    return result.accepted


def thresholds_update(**changes: float) -> HealthThresholds:
    """Change the thresholds the component checks grade by; return the row."""
    thresholds = thresholds_get()
    for name, value in changes.items():
        setattr(thresholds, name, value)
    thresholds.save(update_fields=list(changes) or None)
    logger.info("health.thresholds.changed", extra={"fields": sorted(changes)})
    return thresholds
