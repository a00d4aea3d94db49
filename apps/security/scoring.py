"""From detections to one event's threat score and severity (thresholds from the database)."""

import time
from collections.abc import Sequence

from apps.security.constants import DEFAULT_THRESHOLDS, Severity
from apps.security.detectors.base import Detection
from apps.security.models import SeverityThresholds

THRESHOLDS_CACHE_S = 5.0
# How much of the remaining gap to 1.0 a second detector's agreement closes, per unit of score.
AGREEMENT_WEIGHT = 0.25

_cache: tuple[float, tuple[float, float, float, float]] | None = None


def threat_score(detections: Sequence[Detection]) -> float:
    """Return 0..1: the strongest detector's score, raised a little by each other detector."""
    best: dict[str, float] = {}
    for detection in detections:
        best[detection.detector] = max(best.get(detection.detector, 0.0), detection.score)
    if not best:
        return 0.0
    ranked = sorted(best.values(), reverse=True)
    score = ranked[0]
    for other in ranked[1:]:
        score += (1.0 - score) * other * AGREEMENT_WEIGHT
    return round(min(1.0, max(0.0, score)), 4)


def severity_of(score: float) -> Severity:
    """Return the severity a score reaches under the current thresholds."""
    low, medium, high, critical = thresholds()
    if score >= critical:
        return Severity.CRITICAL
    if score >= high:
        return Severity.HIGH
    if score >= medium:
        return Severity.MEDIUM
    if score >= low:
        return Severity.LOW
    return Severity.INFO


def thresholds() -> tuple[float, float, float, float]:
    """Return (low, medium, high, critical), re-read from the database every few seconds."""
    global _cache
    if _cache is None or _cache[0] < time.monotonic():
        row = SeverityThresholds.objects.order_by("pk").first()
        values = (
            (row.low, row.medium, row.high, row.critical)
            if row
            else tuple(DEFAULT_THRESHOLDS[name] for name in ("low", "medium", "high", "critical"))
        )
        _cache = (time.monotonic() + THRESHOLDS_CACHE_S, values)  # type: ignore[assignment]
    return _cache[1]  # type: ignore[index]


def thresholds_forget() -> None:
    """Drop the cached thresholds (after an admin change in this process; tests)."""
    global _cache
    _cache = None
