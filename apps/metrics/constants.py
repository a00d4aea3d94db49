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


# --- rollups and retention -------------------------------------------------------------------


class Resolution(models.TextChoices):
    HOUR = "hour"
    DAY = "day"


HOUR_MS = 3_600_000
DAY_MS = 86_400_000
RESOLUTION_MS: dict[str, int] = {
    Resolution.HOUR: HOUR_MS,
    Resolution.DAY: DAY_MS,
}  # days are UTC days

# An hour is rolled up once it ended this long ago; a point arriving later than that for an hour
# already rolled up stays in the raw table (and raw queries) but never reaches the rollups.
ROLLUP_GRACE_MS = 5 * 60 * 1000

# Range queries read raw points for ranges up to 2 days that start within raw retention, hourly
# rollups for ranges up to 30 days that start within hourly retention, daily rollups beyond.
RAW_QUERY_MAX_RANGE_MS = 2 * DAY_MS
HOURLY_QUERY_MAX_RANGE_MS = 30 * DAY_MS

# Rollups keep the values of each series as a log-bucket sketch, so that percentiles of raw
# values (gauges, raw histogram observations) can be answered from them: 8 buckets per power
# of two, as Prometheus' native histograms (schema 3), so an answer is within ~9 % of the value.
SKETCH_BUCKETS_PER_OCTAVE = 8


# --- the point head (apps/metrics/points.py) -------------------------------------------------

# A point stays in the head at least this long: live points arrive later than their timestamp
# by up to about this much and still append there (a later one is written to Point directly).
HEAD_SETTLE_MS = 1_000
# Compaction runs once the head holds this much settled time (the default of the setting
# AIVMON_METRICS_HEAD_COMPACT_EVERY_MS); it moves at most about this many
# points in one transaction (the write lock is held meanwhile), the next run moves on.
HEAD_COMPACT_EVERY_MS = 1_000
HEAD_COMPACT_MAX_ROWS = 5_000
# The head is compacted a shard of series (series_id % HEAD_SHARDS) at a time, each with its own
# watermark. Changing it needs a migration that first compacts the whole head.
HEAD_SHARDS = 8
