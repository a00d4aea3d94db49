"""Security events, the threats they add up to, the advisory block list and score thresholds."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from apps.security.constants import (
    DEFAULT_THRESHOLDS,
    ENDPOINT_MAX_LENGTH,
    EVENT_TYPE_MAX_LENGTH,
    METHOD_MAX_LENGTH,
    REASON_MAX_LENGTH,
    SERVICE_MAX_LENGTH,
    USER_AGENT_MAX_LENGTH,
    USER_ID_MAX_LENGTH,
    KeyType,
    Severity,
    ThreatStatus,
)


class SecurityEvent(models.Model):
    """One event a service (or aivmon itself) reported, with what the detectors made of it."""

    timestamp = models.DateTimeField()
    received_at = models.DateTimeField()
    event_type = models.CharField(max_length=EVENT_TYPE_MAX_LENGTH)
    service = models.CharField(max_length=SERVICE_MAX_LENGTH, blank=True)
    user_id = models.CharField(max_length=USER_ID_MAX_LENGTH, blank=True)
    source_ip = models.GenericIPAddressField(null=True, blank=True)
    endpoint = models.CharField(max_length=ENDPOINT_MAX_LENGTH, blank=True)
    method = models.CharField(max_length=METHOD_MAX_LENGTH, blank=True)
    params = models.JSONField(default=dict, blank=True)
    user_agent = models.CharField(max_length=USER_AGENT_MAX_LENGTH, blank=True)
    details = models.JSONField(default=dict, blank=True)
    threat_score = models.FloatField(default=0.0)
    severity = models.PositiveSmallIntegerField(choices=Severity.choices, default=Severity.INFO)
    detections = models.JSONField(default=list, blank=True)
    mitigated = models.BooleanField(default=False)

    class Meta:
        ordering = ["-timestamp", "-id"]
        indexes = [
            models.Index(fields=["timestamp"], name="security_event_ts"),
            models.Index(fields=["event_type", "timestamp"], name="security_event_type_ts"),
            models.Index(fields=["user_id", "timestamp"], name="security_event_user_ts"),
            models.Index(fields=["source_ip", "timestamp"], name="security_event_ip_ts"),
            models.Index(fields=["severity", "timestamp"], name="security_event_sev_ts"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.event_type} {self.get_severity_display()}"


class Threat(models.Model):
    """Detections of one kind against one IP or user, aggregated while the threat is open."""

    kind = models.CharField(max_length=64)
    key_type = models.CharField(max_length=8, choices=KeyType.choices)
    key = models.CharField(max_length=USER_ID_MAX_LENGTH)
    count = models.PositiveIntegerField(default=0)
    score = models.FloatField(default=0.0)
    severity = models.PositiveSmallIntegerField(choices=Severity.choices, default=Severity.INFO)
    reason = models.CharField(max_length=REASON_MAX_LENGTH, blank=True)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()
    status = models.CharField(
        max_length=16, choices=ThreatStatus.choices, default=ThreatStatus.OPEN
    )
    status_changed_at = models.DateTimeField(null=True, blank=True)
    status_changed_by = models.CharField(max_length=200, blank=True)
    events: "models.ManyToManyField[SecurityEvent, ThreatEvent]" = models.ManyToManyField(
        SecurityEvent, through="ThreatEvent", related_name="threats"
    )

    class Meta:
        ordering = ["-last_seen", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "key_type", "key"],
                condition=Q(status="open"),
                name="security_threat_one_open",
            )
        ]
        indexes = [
            models.Index(fields=["status", "last_seen"], name="security_threat_status_seen"),
            models.Index(fields=["key_type", "key"], name="security_threat_key"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.key_type}:{self.key} ({self.status})"

    def is_open(self) -> bool:
        return self.status == ThreatStatus.OPEN


class ThreatEvent(models.Model):
    """Which events a threat was built from."""

    threat = models.ForeignKey(Threat, on_delete=models.CASCADE)
    event = models.ForeignKey(SecurityEvent, on_delete=models.CASCADE)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["threat", "event"], name="security_threat_event_once")
        ]


class BlockListEntry(models.Model):
    """An IP or user that integrations are advised to block until `expires_at`."""

    key_type = models.CharField(max_length=8, choices=KeyType.choices)
    key = models.CharField(max_length=USER_ID_MAX_LENGTH)
    reason = models.CharField(max_length=REASON_MAX_LENGTH)
    severity = models.PositiveSmallIntegerField(choices=Severity.choices, default=Severity.HIGH)
    threat = models.ForeignKey(Threat, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Empty: until removed.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "block list entries"
        constraints = [
            models.UniqueConstraint(fields=["key_type", "key"], name="security_block_once")
        ]
        indexes = [models.Index(fields=["expires_at"], name="security_block_expiry")]

    def __str__(self) -> str:
        return f"{self.key_type}:{self.key}"

    def clean(self) -> None:
        if self.key_type == KeyType.IP:
            # The API's canonical form (ingest's, IPv4-mapped IPv6 as IPv4); imported here, as
            # the API modules import these models.
            from apps.security.api.params import canonical_ip

            key = canonical_ip(self.key)
            if key is None:
                raise ValidationError({"key": "An IPv4 or IPv6 address."})
            self.key = key


class SeverityThresholds(models.Model):
    """The score at which each severity starts; one row, editable by admins."""

    low = models.FloatField(default=DEFAULT_THRESHOLDS["low"])
    medium = models.FloatField(default=DEFAULT_THRESHOLDS["medium"])
    high = models.FloatField(default=DEFAULT_THRESHOLDS["high"])
    critical = models.FloatField(default=DEFAULT_THRESHOLDS["critical"])
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "severity thresholds"
        constraints = [
            models.CheckConstraint(
                condition=Q(low__gt=0)
                & Q(medium__gte=models.F("low"))
                & Q(high__gte=models.F("medium"))
                & Q(critical__gte=models.F("high"))
                & Q(critical__lte=1),
                name="security_thresholds_ordered",
            )
        ]

    def __str__(self) -> str:
        return f"low {self.low}, medium {self.medium}, high {self.high}, critical {self.critical}"
