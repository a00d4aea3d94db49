"""Deleting whole series on request (privacy erasure): their points, rollups and the series."""

from django.db import transaction

from apps.metrics.models import (
    HistogramPoint,
    Point,
    PointHead,
    Rollup,
    Series,
    SummaryPoint,
)
from apps.metrics.services import series_cache_invalidate


def series_erase(*, ids: list[int]) -> int:
    """Delete these series with every point and rollup of theirs; return how many series.

    The series epoch turns, so no process keeps writing to a deleted series' cached id.
    """
    if not ids:
        return 0
    with transaction.atomic():
        for model in (Point, PointHead, HistogramPoint, SummaryPoint, Rollup):
            model.objects.filter(series_id__in=ids).delete()
        _, deleted = Series.objects.filter(id__in=ids).delete()
        series_cache_invalidate()
    return deleted.get(Series._meta.label, 0)
