"""Metric kinds, query aggregations and the limits of the metrics app."""

from django.db import models


class MetricType(models.TextChoices):
    COUNTER = "counter"
    GAUGE = "gauge"
    HISTOGRAM = "histogram"
    SUMMARY = "summary"


class Temporality(models.TextChoices):
    CUMULATIVE = "cumulative"
    DELTA = "delta"


METRIC_TYPES = frozenset(MetricType.values)
TEMPORALITIES = frozenset(Temporality.values)

# Aggregations GET /api/v1/metrics/query offers; the percentiles map to their quantile.
STAT_AGGS = ("avg", "min", "max", "sum", "count")
PERCENTILE_AGGS = {"p50": 0.5, "p90": 0.9, "p95": 0.95, "p99": 0.99}
AGGS = (*STAT_AGGS, "rate", *PERCENTILE_AGGS)
DEFAULT_AGG = "avg"

DEFAULT_RANGE_S = 3600
DEFAULT_POINTS_PER_SERIES = 300
MAX_POINTS_PER_SERIES = 11_000
MIN_STEP_S = 1
# A cumulative counter's increase needs the sample before the range: look back this far at least.
MIN_LOOKBACK_MS = 5 * 60 * 1000

# Defaults of the settings of the same name (read with getattr, so that tests may override them).
DEFAULT_MAX_SERIES_PER_METRIC = 10_000
DEFAULT_SERIES_CACHE_SIZE = 100_000
DEFAULT_QUERY_MAX_SERIES = 1_000

# Series.last_seen is written at most this often per series and process.
LAST_SEEN_RESOLUTION_S = 60

# Column sizes; longer values are refused on write rather than failing in the database.
NAME_MAX_LENGTH = 255
SERVICE_MAX_LENGTH = 255
UNIT_MAX_LENGTH = 64
