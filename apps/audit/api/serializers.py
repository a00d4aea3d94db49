import orjson
from rest_framework import serializers

from apps.audit.models import AuditEvent


class AuditActorSerializer(serializers.Serializer):
    kind = serializers.CharField(source="actor_kind")
    id = serializers.CharField(source="actor_id")
    label = serializers.CharField(source="actor_label")


class AuditEventSerializer(serializers.ModelSerializer):
    time = serializers.DateTimeField(source="created_at")
    actor = AuditActorSerializer(source="*")
    details = serializers.SerializerMethodField()

    class Meta:
        model = AuditEvent
        fields = ["id", "time", "actor", "action", "target", "ip", "details", "prev_hash", "hash"]

    def get_details(self, event: AuditEvent) -> dict:
        return orjson.loads(event.details_json)


class ChainReportSerializer(serializers.Serializer):
    intact = serializers.BooleanField()
    checked = serializers.IntegerField()
    first_broken_id = serializers.IntegerField(allow_null=True)
    reason = serializers.CharField()
