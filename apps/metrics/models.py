"""Metric series and their points: raw values, histogram buckets and summary quantiles.

Timestamps of points are epoch milliseconds (BigInteger): compact, and bucketed with integer
arithmetic in SQL. A point is unique per (series, ts_ms), so a repeated export is stored once.
Summary quantiles live in their own table (SummaryPoint) rather than in nullable columns of
HistogramPoint: each table keeps only the columns its kind has.
"""

from django.db import models

from apps.metrics.constants import (
    NAME_MAX_LENGTH,
    SERVICE_MAX_LENGTH,
    UNIT_MAX_LENGTH,
    MetricType,
    Resolution,
    Temporality,
)


class Series(models.Model):
    """One metric name of one service with one set of labels."""

    name = models.CharField(max_length=NAME_MAX_LENGTH)
    type = models.CharField(max_length=16, choices=MetricType.choices)
    temporality = models.CharField(
        max_length=16, choices=Temporality.choices, default=Temporality.CUMULATIVE
    )
    unit = models.CharField(max_length=UNIT_MAX_LENGTH, blank=True)
    service = models.CharField(max_length=SERVICE_MAX_LENGTH, blank=True)
    labels = models.JSONField(default=dict)
    # The same labels as canonical JSON text (sorted keys), matched exactly by label filters.
    labels_text = models.TextField(default="{}")
    # blake2b-128 of the canonical (name, service, labels), computed in Python.
    fingerprint = models.CharField(max_length=32, unique=True)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()

    class Meta:
        verbose_name_plural = "series"
        indexes = [models.Index(fields=["name", "service"], name="metrics_series_name_svc")]

    def __str__(self) -> str:
        return f"{self.name}{{service={self.service}, {self.labels_text}}}"


class Point(models.Model):
    """A counter or gauge value, or one raw observation of a histogram."""

    # No index of its own: the unique (series, ts_ms) index serves every lookup by series.
    # No database constraint either: on PostgreSQL its per-row check cost ~40 % of the insert
    # time of this, the hottest table (measured). The write path only ever uses series ids
    # read in its own transaction or cached under the current SeriesEpoch.
    series = models.ForeignKey(
        Series, on_delete=models.CASCADE, db_index=False, db_constraint=False
    )
    ts_ms = models.BigIntegerField()
    value = models.FloatField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["series", "ts_ms"], name="metrics_point_series_ts")
        ]


class PointHead(models.Model):
    """The newest points, in time order per shard: where ingest appends plain points on SQLite.

    Point is clustered by (series, ts_ms), so a batch of many series, one point each, lands in
    as many places of its index. PointHead takes the batch in a few pages at the end of each
    shard's range (shard = series_id % HEAD_SHARDS), and apps/metrics/points.py moves a shard's
    settled rows into Point in series order, many per series, one shard at a time.
    On SQLite the table is WITHOUT ROWID (migration 0004): one B-tree, keyed as declared.
    Every point is in exactly one of Point and PointHead (the watermarks in PointHeadState
    say which); readers see both through apps/metrics/points.py. PostgreSQL ingest writes
    Point directly and leaves this table empty.
    """

    pk = models.CompositePrimaryKey("shard", "ts_ms", "series")
    shard = models.SmallIntegerField()
    ts_ms = models.BigIntegerField()
    series = models.ForeignKey(
        Series, on_delete=models.CASCADE, db_index=False, db_constraint=False
    )
    value = models.FloatField()


class PointHeadState(models.Model):
    """A row per shard of the head (id = shard + 1): its watermark. Point holds no point of the
    shard at or after it, so such a point is written to PointHead and one before it to Point."""

    watermark_ms = models.BigIntegerField()

    def __str__(self) -> str:
        return f"point head from {self.watermark_ms}"


class HistogramPoint(models.Model):
    """A pre-aggregated histogram: explicit upper bounds (+Inf implied) and per-bucket counts."""

    series = models.ForeignKey(Series, on_delete=models.CASCADE, db_index=False)
    ts_ms = models.BigIntegerField()
    count = models.BigIntegerField()
    sum = models.FloatField(null=True)
    bounds = models.JSONField(default=list)  # ascending finite upper bounds
    bucket_counts = models.JSONField(default=list)  # len(bounds) + 1, per bucket, not cumulative

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["series", "ts_ms"], name="metrics_histpoint_series_ts")
        ]


class SummaryPoint(models.Model):
    """A summary: count, sum and the quantiles the client computed ({"0.5": v, "0.99": v})."""

    series = models.ForeignKey(Series, on_delete=models.CASCADE, db_index=False)
    ts_ms = models.BigIntegerField()
    count = models.BigIntegerField()
    sum = models.FloatField(null=True)
    quantiles = models.JSONField(default=dict)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["series", "ts_ms"], name="metrics_sumpoint_series_ts")
        ]


class SeriesEpoch(models.Model):
    """One row whose token changes whenever series rows go away (retention, a flushed database).

    Every process caches fingerprint → series id; a token it has not seen makes it drop that cache,
    so that no point is ever written against a series id that no longer exists.
    """

    token = models.CharField(max_length=32)

    def __str__(self) -> str:
        return f"series epoch {self.token}"


class Rollup(models.Model):
    """One series summarised over one hour or one UTC day (see apps/metrics/rollups.py).

    count, sum, min, max and last describe the raw values (Point rows) of the bucket; increase
    is their increase as a counter's (delta series: their sum). The JSON columns are empty
    (NULL) where the series had nothing of their kind in the bucket.
    """

    series = models.ForeignKey(Series, on_delete=models.CASCADE, db_index=False)
    resolution = models.CharField(max_length=4, choices=Resolution.choices)
    bucket_start_ms = models.BigIntegerField()
    count = models.BigIntegerField(default=0)
    sum = models.FloatField(null=True)
    min = models.FloatField(null=True)
    max = models.FloatField(null=True)
    last = models.FloatField(null=True)  # the value at the latest ts of the bucket
    increase = models.FloatField(null=True)
    # Log-bucket counts of the raw values: {slot: count}, see aggregation.sketch_slot.
    sketch = models.JSONField(null=True)
    # Pre-aggregated histograms: [[bounds, per-bucket increase], …], one entry per bucket layout.
    histogram = models.JSONField(null=True)
    # [bounds, cumulative counts] of the latest cumulative histogram point: the next base.
    histogram_last = models.JSONField(null=True)
    # Summaries: {quantile: [sum of the reported values, how many were reported]}.
    summary = models.JSONField(null=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["series", "resolution", "bucket_start_ms"],
                name="metrics_rollup_series_bucket",
            )
        ]
        indexes = [
            models.Index(fields=["resolution", "bucket_start_ms"], name="metrics_rollup_res_bucket")
        ]


class RollupState(models.Model):
    """How far the rollups of one resolution have come."""

    resolution = models.CharField(max_length=4, choices=Resolution.choices, unique=True)
    # The end of the last bucket rolled up: every bucket before it is done, none after it.
    watermark_ms = models.BigIntegerField()
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.resolution} rollups up to {self.watermark_ms}"
