"""Security events, threats and block list entries as the API shows them."""

from rest_framework import serializers

from apps.core.fields import SeverityField
from apps.security.api.params import canonical_ip
from apps.security.constants import KeyType
from apps.security.models import BlockListEntry, SecurityEvent, Threat
from apps.security.services import EVENT_COLUMNS


class SecurityEventSerializer(serializers.ModelSerializer):
    severity = SeverityField(read_only=True)

    class Meta:
        model = SecurityEvent
        fields = ["id", *EVENT_COLUMNS]  # the stored columns, as ingest writes them


class ThreatSerializer(serializers.ModelSerializer):
    severity = SeverityField(read_only=True)

    class Meta:
        model = Threat
        fields = [
            "id",
            "kind",
            "key_type",
            "key",
            "count",
            "score",
            "severity",
            "reason",
            "first_seen",
            "last_seen",
            "status",
            "status_changed_at",
            "status_changed_by",
        ]


class BlockListEntrySerializer(serializers.ModelSerializer):
    severity = SeverityField(read_only=True)
    created_by = serializers.CharField(
        source="created_by.username", read_only=True, default=None, allow_null=True
    )

    class Meta:
        model = BlockListEntry
        fields = [
            "id",
            "key_type",
            "key",
            "reason",
            "severity",
            "threat",
            "created_at",
            "expires_at",
            "created_by",
        ]


class TriageSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")


class BlockListAddSerializer(serializers.Serializer):
    key_type = serializers.ChoiceField(choices=KeyType.values)
    key = serializers.CharField(max_length=200)
    reason = serializers.CharField(max_length=500)
    expires_at = serializers.DateTimeField(required=False, allow_null=True, default=None)

    def validate(self, attrs: dict) -> dict:
        if attrs["key_type"] == KeyType.IP:
            key = canonical_ip(attrs["key"])
            if key is None:
                raise serializers.ValidationError({"key": ["An IPv4 or IPv6 address."]})
            attrs["key"] = key
        if "\x00" in attrs["key"] or "\x00" in attrs["reason"]:
            raise serializers.ValidationError({"key": ["Must not contain NUL characters."]})
        return attrs
