"""GDPR: a subject's data as JSON (streamed), and erasure in every app (admin only)."""

from collections.abc import Iterator
from datetime import UTC, datetime

import orjson
from django.http import StreamingHttpResponse
from drf_spectacular.utils import OpenApiParameter, OpenApiTypes, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.selectors import request_actor
from apps.core.http import client_ip
from apps.core.times import datetime_rfc3339
from apps.privacy import selectors, services
from apps.security.constants import USER_ID_MAX_LENGTH

JSON = "application/json"


def _user_id(raw: object) -> str:
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = str(raw)  # security-event ingest stores a numeric user id as its decimal string
    if not isinstance(raw, str) or not raw.strip():
        raise ValidationError({"user_id": ["required: the subject's id as the services send it"]})
    if len(raw) > USER_ID_MAX_LENGTH:
        raise ValidationError({"user_id": [f"longer than {USER_ID_MAX_LENGTH} characters"]})
    if "\x00" in raw:  # no stored id holds one, and PostgreSQL text cannot
        raise ValidationError({"user_id": ["Must not contain NUL characters."]})
    return raw


def _export_chunks(user_id: str) -> Iterator[bytes]:
    """The export document, written a row at a time."""
    head = {"user_id": user_id, "generated_at": datetime_rfc3339(datetime.now(UTC))}
    yield orjson.dumps(head)[:-1]
    for section, rows in selectors.subject_sections(user_id):
        yield b',"' + section.encode() + b'":['
        for index, row in enumerate(rows):
            yield (b"," if index else b"") + orjson.dumps(row)
        yield b"]"
    yield b"}"


class PrivacyExportView(APIView):
    """Everything stored about a subject, across apps, as one JSON document (streamed)."""

    required_scope = "admin"

    @extend_schema(
        parameters=[OpenApiParameter("user_id", str, required=True, description="The subject.")],
        responses={(200, JSON): OpenApiTypes.OBJECT},
    )
    def get(self, request: Request) -> StreamingHttpResponse:
        user_id = _user_id(request.query_params.get("user_id"))
        response = StreamingHttpResponse(_export_chunks(user_id), content_type=JSON)
        response["Content-Disposition"] = 'attachment; filename="aivmon-subject-export.json"'
        return response


class PrivacyEraseView(APIView):
    """Erase a subject in every app; answers the counts per app (audited, without the id)."""

    required_scope = "admin"

    @extend_schema(
        request=inline_serializer("ErasureRequest", {"user_id": serializers.CharField()}),
        responses={
            200: inline_serializer(
                "ErasureReport",
                {
                    "erased": serializers.DictField(child=serializers.IntegerField()),
                    "details": serializers.DictField(
                        child=serializers.DictField(child=serializers.IntegerField())
                    ),
                },
            )
        },
    )
    def post(self, request: Request) -> Response:
        body = request.data if isinstance(request.data, dict) else {}
        user_id = _user_id(body.get("user_id"))
        report = services.subject_erase(
            user_id=user_id, actor=request_actor(request), ip=client_ip(request)
        )
        return Response(
            {"erased": report.totals(), "details": report.counts}, status=status.HTTP_200_OK
        )
