from rest_framework import serializers

from apps.metrics.models import Series


class SeriesSerializer(serializers.ModelSerializer):
    labels = serializers.DictField(child=serializers.CharField())

    class Meta:
        model = Series
        fields = [
            "id",
            "name",
            "type",
            "temporality",
            "unit",
            "service",
            "labels",
            "first_seen",
            "last_seen",
        ]


class QueriedSeriesSerializer(serializers.Serializer):
    """Documents one answered series (the view writes the dicts itself, for speed)."""

    name = serializers.CharField()
    service = serializers.CharField(allow_blank=True)
    labels = serializers.DictField(child=serializers.CharField())
    points = serializers.ListField(
        child=serializers.ListField(child=serializers.FloatField(), min_length=2, max_length=2),
        help_text="[t, value] pairs: t is the step's start in epoch seconds.",
    )


class MetricQueryAnswerSerializer(serializers.Serializer):
    series = QueriedSeriesSerializer(many=True)
