"""Test runs as the API shows them: totals, success rate and the figures derived at ingest."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.testruns.models import CaseResult, Run


class TotalsSerializer(serializers.Serializer):
    tests = serializers.IntegerField()
    passed = serializers.IntegerField()
    failed = serializers.IntegerField()
    error = serializers.IntegerField()
    skipped = serializers.IntegerField()


class ModuleRateSerializer(TotalsSerializer):
    module = serializers.CharField()
    success_rate = serializers.FloatField(allow_null=True, help_text="Percent; null: none ran.")


class _TestSerializer(serializers.Serializer):
    test = serializers.CharField(help_text="module::name")
    module = serializers.CharField(allow_blank=True)
    name = serializers.CharField()


class SlowTestSerializer(_TestSerializer):
    duration_s = serializers.FloatField()
    outcome = serializers.CharField()


class SlowerTestSerializer(_TestSerializer):
    duration_s = serializers.FloatField()
    baseline_s = serializers.FloatField(help_text="Mean duration in the earlier runs compared.")
    baseline_runs = serializers.IntegerField(help_text="How many earlier runs timed the test.")
    ratio = serializers.FloatField(allow_null=True, help_text="null when the baseline is 0 s.")


class FlakyTestSerializer(_TestSerializer):
    commit = serializers.CharField()
    passed = serializers.IntegerField()
    failed = serializers.IntegerField(help_text="Failed or errored runs at that commit.")


class RunSerializer(serializers.ModelSerializer):
    totals = TotalsSerializer(source="*", read_only=True)
    success_rate = serializers.FloatField(
        allow_null=True, read_only=True, help_text="passed / (passed + failed + error), percent."
    )
    slowest = SlowTestSerializer(many=True, read_only=True)
    slower = SlowerTestSerializer(many=True, read_only=True)
    modules = ModuleRateSerializer(many=True, read_only=True)
    flaky = FlakyTestSerializer(many=True, read_only=True)

    class Meta:
        model = Run
        fields = [
            "id",
            "suite",
            "run_id",
            "commit",
            "branch",
            "started_at",
            "received_at",
            "duration_s",
            "totals",
            "success_rate",
            "slowest",
            "slower",
            "modules",
            "flaky",
        ]


class CaseSerializer(serializers.ModelSerializer):
    class Meta:
        model = CaseResult
        fields = ["module", "name", "outcome", "duration_s", "message"]


class RunDetailSerializer(RunSerializer):
    failures = serializers.SerializerMethodField()

    class Meta(RunSerializer.Meta):
        fields = [*RunSerializer.Meta.fields, "failures"]

    @extend_schema_field(CaseSerializer(many=True))
    def get_failures(self, run: Run) -> list:
        return list(CaseSerializer(self.context["failures"], many=True).data)
