"""Spans as received, and one summary row per trace kept current by the span writer."""

from django.db import models

from apps.traces.constants import NAME_MAX_LENGTH, SERVICE_MAX_LENGTH


class Span(models.Model):
    """One span. Times are epoch nanoseconds; (trace_id, span_id) is stored once."""

    trace_id = models.CharField(max_length=32)
    span_id = models.CharField(max_length=16)
    parent_span_id = models.CharField(max_length=16, blank=True, help_text="Blank for a root.")
    service = models.CharField(max_length=SERVICE_MAX_LENGTH)
    name = models.CharField(max_length=NAME_MAX_LENGTH)
    kind = models.CharField(max_length=16)
    start_ns = models.BigIntegerField()
    end_ns = models.BigIntegerField()
    duration_ms = models.FloatField()
    status = models.CharField(max_length=8)
    status_message = models.TextField(blank=True)
    attributes = models.JSONField(default=dict)
    events = models.JSONField(default=list)
    resource = models.JSONField(default=dict)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["trace_id", "span_id"], name="traces_span_trace_span")
        ]
        indexes = [
            models.Index(fields=["service", "start_ns"], name="traces_span_service_start"),
            models.Index(fields=["name", "start_ns"], name="traces_span_name_start"),
        ]

    def __str__(self) -> str:
        return f"{self.service}: {self.name} ({self.trace_id}/{self.span_id})"


class TraceSummary(models.Model):
    """A trace at a glance, for search: recomputed by the span writer as spans arrive."""

    trace_id = models.CharField(max_length=32, primary_key=True)
    root_span_id = models.CharField(max_length=16, blank=True)
    root_service = models.CharField(max_length=SERVICE_MAX_LENGTH, blank=True)
    root_name = models.CharField(max_length=NAME_MAX_LENGTH, blank=True)
    # True while the root shown is a stand-in (the earliest span) because no parentless span came.
    root_has_parent = models.BooleanField(default=True)
    root_start_ns = models.BigIntegerField(default=0)
    start_ns = models.BigIntegerField(default=0)
    end_ns = models.BigIntegerField(default=0)
    duration_ms = models.FloatField(default=0.0)
    span_count = models.IntegerField(default=0)
    error_count = models.IntegerField(default=0)
    services = models.JSONField(default=list)

    class Meta:
        verbose_name_plural = "trace summaries"
        indexes = [models.Index(fields=["start_ns"], name="traces_summary_start")]

    def __str__(self) -> str:
        return f"{self.trace_id} {self.root_service}: {self.root_name}"
