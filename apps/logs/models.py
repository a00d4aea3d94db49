"""Log records. Full-text search over `body` lives beside the table (see apps.logs.fulltext)."""

from django.db import models

from apps.logs.constants import SERVICE_MAX_LENGTH, SEVERITY_TEXT_MAX_LENGTH


class LogRecord(models.Model):
    """One log record; `ts_ns` is epoch nanoseconds, severities are OpenTelemetry's 0..24."""

    ts_ns = models.BigIntegerField()
    severity_number = models.PositiveSmallIntegerField()
    severity_text = models.CharField(max_length=SEVERITY_TEXT_MAX_LENGTH)
    body = models.TextField(blank=True)
    service = models.CharField(max_length=SERVICE_MAX_LENGTH)
    attributes = models.JSONField(default=dict)
    resource = models.JSONField(default=dict)
    trace_id = models.CharField(max_length=32, blank=True)
    span_id = models.CharField(max_length=16, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["ts_ns"], name="logs_record_ts"),
            models.Index(fields=["service", "ts_ns"], name="logs_record_service_ts"),
            models.Index(fields=["trace_id"], name="logs_record_trace"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.service} {self.severity_text}: {self.body[:60]}"
