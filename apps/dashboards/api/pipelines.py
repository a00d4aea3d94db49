"""Chart data for the pipelines page: the duration of each Agent Forge run, per pipeline."""

import time

from django.urls import path
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.params import TIME_HELP, invalid, text
from apps.dashboards.queries import pipelines as queries
from apps.metrics.api import params as metric_params

NS_PER_S = 1_000_000_000


class PipelineDurationsView(APIView):
    """Run durations (seconds) by start time, one line per pipeline, newest runs first kept."""

    @extend_schema(
        operation_id="dashboards_pipeline_durations",
        parameters=[
            OpenApiParameter("pipeline", str, description="Only runs of this pipeline."),
            OpenApiParameter("start", str, description=f"Default a day before end. {TIME_HELP}"),
            OpenApiParameter("end", str, description=f"Default now. {TIME_HELP}"),
        ],
        responses=inline_serializer(
            "PipelineDurationLines",
            {
                "lines": inline_serializer(
                    "PipelineDurationLine",
                    {
                        "label": serializers.CharField(),
                        "points": serializers.ListField(
                            child=serializers.ListField(child=serializers.FloatField())
                        ),
                    },
                    many=True,
                )
            },
        ),
    )
    def get(self, request: Request) -> Response:
        query = request.query_params
        end_s = metric_params.time_s(query, "end") or time.time()
        start_s = metric_params.time_s(query, "start") or end_s - 86_400
        if start_s > end_s:
            raise invalid("start", "start must not be after end.")
        runs = queries.pipeline_run_list(
            start_ns=int(start_s * NS_PER_S),
            end_ns=int(end_s * NS_PER_S),
            pipeline=text(query, "pipeline"),
        )
        return Response({"lines": queries.duration_lines(runs)})


urlpatterns = [
    path(
        "dashboards/pipelines/durations",
        PipelineDurationsView.as_view(),
        name="dashboards-pipeline-durations",
    )
]
