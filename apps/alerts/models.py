"""Alert rules, the alerts they raise and every change of state, silences, notification
channels, escalation policies, notification groups and the delivery ledger."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from apps.alerts.constants import (
    ACTIVE_STATES,
    NAME_MAX_LENGTH,
    TEXT_MAX_LENGTH,
    AlertState,
    DeliveryStatus,
    Event,
)
from apps.core.constants import Severity


class Channel(models.Model):
    """Where notifications go; secret config fields are kept encrypted (apps.alerts.crypto)."""

    name = models.CharField(max_length=NAME_MAX_LENGTH, unique=True)
    kind = models.CharField(max_length=20)
    config = models.JSONField(default=dict, blank=True)
    secrets_token = models.TextField(blank=True, help_text="Fernet token of the secret fields.")
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"


class EscalationPolicy(models.Model):
    """Ordered steps: after N seconds unacknowledged, notify these channels or a role."""

    name = models.CharField(max_length=NAME_MAX_LENGTH, unique=True)
    repeat = models.BooleanField(default=False, help_text="Start again after the last step.")

    class Meta:
        verbose_name_plural = "escalation policies"

    def __str__(self) -> str:
        return self.name


class EscalationStep(models.Model):
    policy = models.ForeignKey(EscalationPolicy, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField()
    after_s = models.PositiveIntegerField(help_text="Seconds after firing, unacknowledged.")
    channels = models.ManyToManyField(Channel, blank=True)
    role = models.CharField(
        max_length=20, blank=True, help_text="Also e-mail the users of this role."
    )

    class Meta:
        ordering = ["policy", "position"]
        constraints = [
            models.UniqueConstraint(fields=["policy", "position"], name="alerts_step_once")
        ]

    def __str__(self) -> str:
        return f"{self.policy} step {self.position} after {self.after_s} s"


class AlertRule(models.Model):
    """A condition evaluated on a schedule and on ingest; each breaching label set is an alert."""

    name = models.CharField(max_length=NAME_MAX_LENGTH, unique=True)
    kind = models.CharField(max_length=40)
    params = models.JSONField(default=dict)
    labels = models.JSONField(default=dict, blank=True)
    severity = models.PositiveSmallIntegerField(choices=Severity.choices, default=Severity.MEDIUM)
    summary_template = models.CharField(max_length=TEXT_MAX_LENGTH, blank=True)
    description_template = models.TextField(blank=True)
    runbook_url = models.URLField(max_length=TEXT_MAX_LENGTH, blank=True)
    channels = models.ManyToManyField(Channel, blank=True, related_name="rules")
    escalation_policy = models.ForeignKey(
        EscalationPolicy, null=True, blank=True, on_delete=models.SET_NULL
    )
    group_by = models.JSONField(default=list, blank=True)
    group_wait_s = models.PositiveIntegerField(default=1)
    group_interval_s = models.PositiveIntegerField(default=300)
    repeat_interval_s = models.PositiveIntegerField(default=4 * 3600)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Alert(models.Model):
    """One episode of a rule breaching for one label set (its fingerprint)."""

    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="alerts")
    fingerprint = models.CharField(max_length=64)
    labels = models.JSONField(default=dict)
    value = models.FloatField(null=True, blank=True)
    details = models.JSONField(default=dict, blank=True, help_text="What the evaluator saw.")
    severity = models.PositiveSmallIntegerField(choices=Severity.choices)
    state = models.CharField(max_length=16, choices=AlertState.choices)
    summary = models.CharField(max_length=TEXT_MAX_LENGTH, blank=True)
    description = models.TextField(blank=True)
    starts_at = models.DateTimeField()
    fired_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    last_breach_at = models.DateTimeField()
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.CharField(max_length=200, blank=True)
    silence = models.ForeignKey("Silence", null=True, blank=True, on_delete=models.SET_NULL)
    group_key = models.CharField(max_length=64, blank=True)
    pending_event = models.CharField(
        max_length=16, blank=True, help_text="An event waiting for the group's next notification."
    )
    notified_state = models.CharField(
        max_length=16, blank=True, help_text="The last state a notification told about."
    )
    last_notified_at = models.DateTimeField(null=True, blank=True)
    escalation_step = models.PositiveSmallIntegerField(default=0)
    flapping = models.BooleanField(default=False)

    class Meta:
        ordering = ["-starts_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["fingerprint"],
                condition=Q(state__in=ACTIVE_STATES),
                name="alerts_one_active_per_fingerprint",
            )
        ]
        indexes = [
            models.Index(fields=["state", "starts_at"], name="alerts_alert_state_start"),
            models.Index(fields=["rule", "state"], name="alerts_alert_rule_state"),
            models.Index(fields=["fingerprint", "starts_at"], name="alerts_alert_fp_start"),
        ]

    def __str__(self) -> str:
        return f"{self.rule} [{self.state}] {self.fingerprint[:12]}"

    def is_active(self) -> bool:
        return self.state in ACTIVE_STATES


class AlertTransition(models.Model):
    """One change of an alert's state, with who made it and why."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="transitions")
    from_state = models.CharField(max_length=16, blank=True)
    to_state = models.CharField(max_length=16)
    at = models.DateTimeField()
    actor = models.CharField(max_length=200)
    reason = models.CharField(max_length=TEXT_MAX_LENGTH, blank=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["at"], name="alerts_transition_at")]


class Silence(models.Model):
    """Alerts whose labels match every matcher between start and end are recorded, not sent."""

    matchers = models.JSONField(help_text='[{"label": "service", "op": "=", "value": "api"}]')
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    comment = models.CharField(max_length=TEXT_MAX_LENGTH, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    creator = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expired_at = models.DateTimeField(null=True, blank=True, help_text="Ended early (deleted).")

    class Meta:
        ordering = ["-starts_at", "-id"]
        indexes = [models.Index(fields=["ends_at"], name="alerts_silence_end")]

    def __str__(self) -> str:
        return f"silence #{self.pk} until {self.ends_at:%Y-%m-%d %H:%M}"


class NotificationGroup(models.Model):
    """Alerts of one rule sharing the rule's group_by label values, notified together."""

    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="groups")
    key = models.CharField(max_length=64)
    labels = models.JSONField(default=dict)
    flush_at = models.DateTimeField(null=True, blank=True)
    last_flushed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["rule", "key"], name="alerts_group_once")]
        indexes = [models.Index(fields=["flush_at"], name="alerts_group_flush")]


class Delivery(models.Model):
    """One notification to one channel, with every attempt in the ledger."""

    channel = models.ForeignKey(
        Channel, null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries"
    )
    alerts = models.ManyToManyField(Alert, blank=True, related_name="deliveries")
    event = models.CharField(max_length=16, choices=Event.choices)
    group_key = models.CharField(max_length=64, blank=True)
    recipients_role = models.CharField(
        max_length=20, blank=True, help_text="No channel: e-mail the users of this role."
    )
    status = models.CharField(
        max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=TEXT_MAX_LENGTH, blank=True)
    detail = models.CharField(max_length=TEXT_MAX_LENGTH, blank=True)
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "deliveries"
        indexes = [models.Index(fields=["status", "created_at"], name="alerts_delivery_status")]

    def __str__(self) -> str:
        target = self.channel or f"role {self.recipients_role}"
        return f"{self.event} → {target} ({self.status})"


class DeliveryAttempt(models.Model):
    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    at = models.DateTimeField()
    outcome = models.CharField(max_length=16)  # sent | retryable | final
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=TEXT_MAX_LENGTH, blank=True)
    latency_ms = models.FloatField()

    class Meta:
        ordering = ["at", "id"]
