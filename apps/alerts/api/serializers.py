"""Alerts, rules, channels and silences as the API shows and takes them."""

from rest_framework import serializers

from apps.alerts.channels.registry import KINDS
from apps.alerts.crypto import secrets_decrypt
from apps.alerts.evaluators.registry import EVALUATORS
from apps.alerts.models import (
    Alert,
    AlertRule,
    AlertTransition,
    Channel,
    Delivery,
    EscalationPolicy,
    Silence,
)
from apps.core.fields import MomentField, SeverityField


class DeliverySerializer(serializers.ModelSerializer):
    channel = serializers.CharField(
        source="channel.name", default=None, read_only=True, allow_null=True
    )

    class Meta:
        model = Delivery
        fields = [
            "id",
            "channel",
            "recipients_role",
            "event",
            "status",
            "attempts",
            "last_status_code",
            "last_error",
            "created_at",
            "sent_at",
        ]


class TransitionSerializer(serializers.ModelSerializer):
    class Meta:
        model = AlertTransition
        fields = ["from_state", "to_state", "at", "actor", "reason"]


class AlertSerializer(serializers.ModelSerializer):
    rule = serializers.CharField(source="rule.name")
    rule_id = serializers.IntegerField()
    severity = SeverityField()
    notifications = DeliverySerializer(source="deliveries", many=True)

    class Meta:
        model = Alert
        fields = [
            "id",
            "rule",
            "rule_id",
            "fingerprint",
            "labels",
            "value",
            "details",
            "severity",
            "state",
            "summary",
            "description",
            "starts_at",
            "fired_at",
            "ends_at",
            "acknowledged_at",
            "acknowledged_by",
            "flapping",
            "notifications",
        ]


class AlertDetailSerializer(AlertSerializer):
    transitions = TransitionSerializer(many=True)

    class Meta(AlertSerializer.Meta):
        fields = [*AlertSerializer.Meta.fields, "transitions"]


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")


class RuleSerializer(serializers.ModelSerializer):
    kind = serializers.ChoiceField(choices=sorted(EVALUATORS))
    severity = SeverityField(required=False)
    channels = serializers.PrimaryKeyRelatedField(
        queryset=Channel.objects.all(), many=True, required=False
    )
    escalation_policy = serializers.PrimaryKeyRelatedField(
        queryset=EscalationPolicy.objects.all(), required=False, allow_null=True
    )
    params = serializers.DictField()
    labels = serializers.DictField(child=serializers.CharField(max_length=200), required=False)
    group_by = serializers.ListField(
        child=serializers.CharField(max_length=200), required=False, max_length=32
    )

    class Meta:
        model = AlertRule
        fields = [
            "id",
            "name",
            "kind",
            "severity",
            "params",
            "labels",
            "summary_template",
            "description_template",
            "runbook_url",
            "channels",
            "escalation_policy",
            "group_by",
            "group_wait_s",
            "group_interval_s",
            "repeat_interval_s",
            "enabled",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]


class ChannelSerializer(serializers.ModelSerializer):
    kind = serializers.ChoiceField(choices=sorted(KINDS))
    config = serializers.DictField(
        required=False, help_text="Secret fields (secret, url of slack, token, dsn) are write-only."
    )
    secret_fields_set = serializers.SerializerMethodField()

    class Meta:
        model = Channel
        fields = ["id", "name", "kind", "config", "enabled", "secret_fields_set", "created_at"]
        read_only_fields = ["created_at"]

    def get_secret_fields_set(self, channel: Channel) -> list[str]:
        return sorted(secrets_decrypt(channel.secrets_token)) if channel.secrets_token else []


class SilenceSerializer(serializers.ModelSerializer):
    matchers = serializers.ListField(child=serializers.DictField(), max_length=32)
    starts_at = MomentField(required=False)
    ends_at = MomentField()

    class Meta:
        model = Silence
        fields = [
            "id",
            "matchers",
            "starts_at",
            "ends_at",
            "comment",
            "creator",
            "created_at",
            "expired_at",
        ]
        read_only_fields = ["creator", "created_at", "expired_at"]
