"""Component states, code scans, thresholds and host figures as the API shows them."""

from rest_framework import serializers

from apps.health.models import CodeScan, ComponentState, ComponentTransition, HealthThresholds


class ComponentStateSerializer(serializers.ModelSerializer):
    class Meta:
        model = ComponentState
        fields = ["name", "status", "checked_at", "changed_at", "details"]


class ComponentTransitionSerializer(serializers.ModelSerializer):
    class Meta:
        model = ComponentTransition
        fields = ["id", "name", "from_status", "to_status", "at", "details"]


class CodeScanSerializer(serializers.ModelSerializer):
    component = serializers.CharField(source="component.name", read_only=True)
    path = serializers.CharField(source="component.path", read_only=True)

    class Meta:
        model = CodeScan
        fields = [
            "id",
            "component",
            "path",
            "status",
            "score",
            "implementation_score",
            "functionality_score",
            "completeness_score",
            "stub_count",
            "stubs",
            "syntax_errors",
            "files",
            "lines",
            "functions",
            "started_at",
            "finished_at",
            "duration_ms",
            "error",
        ]


class ScanRequestSerializer(serializers.Serializer):
    component = serializers.CharField(required=False, max_length=100)


# (lower, higher) pairs: a figure at the first is degraded, at the second unhealthy; for disk
# free space (lower is worse) the unhealthy figure is the lower one.
ORDERED_PAIRS = (
    ("db_latency_degraded_ms", "db_latency_unhealthy_ms"),
    ("redis_memory_degraded_mb", "redis_memory_unhealthy_mb"),
    ("heartbeat_degraded_s", "heartbeat_unhealthy_s"),
    ("queue_degraded", "queue_unhealthy"),
    ("job_late_degraded_factor", "job_late_unhealthy_factor"),
    ("ingest_stale_degraded_s", "ingest_stale_unhealthy_s"),
    ("disk_free_unhealthy_pct", "disk_free_degraded_pct"),
)


class ThresholdsSerializer(serializers.ModelSerializer):
    class Meta:
        model = HealthThresholds
        exclude = ["id"]

    def validate(self, attrs: dict) -> dict:
        """Refuse a degraded threshold past its unhealthy one."""
        for degraded, unhealthy in ORDERED_PAIRS:
            low, high = self._value(attrs, degraded), self._value(attrs, unhealthy)
            if low is not None and high is not None and low > high:
                raise serializers.ValidationError({unhealthy: f"Must be at least {degraded}."})
        return attrs

    def _value(self, attrs: dict, name: str) -> float | None:
        return attrs.get(name, getattr(self.instance, name, None))


class HostFiguresSerializer(serializers.Serializer):
    host = serializers.CharField()
    sampled_at = serializers.DateTimeField()
    gauges = serializers.DictField(child=serializers.FloatField())
    counters = serializers.DictField(child=serializers.FloatField())
    rates = serializers.DictField(child=serializers.FloatField())
