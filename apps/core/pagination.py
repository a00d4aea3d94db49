"""Lists as API.md has them: `?limit=` and an opaque `?cursor=`, answering {"results", "next"}."""

from urllib.parse import parse_qs, urlsplit

from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response

from apps.core.http import parse_whole_number


class OpaqueCursorPagination(CursorPagination):
    page_size = 100
    max_page_size = 1000
    page_size_query_param = "limit"
    cursor_query_param = "cursor"
    ordering = "-id"

    def paginate_queryset(self, queryset, request, view=None):
        """Paginate, answering a 400 (not DRF's 404) for a cursor that does not decode."""
        try:
            return super().paginate_queryset(queryset, request, view)
        except NotFound as exc:
            raise ValidationError({"cursor": ["Invalid cursor."]}) from exc

    def get_page_size(self, request):
        """Return `limit`, refusing values that are not whole numbers from 1 to the maximum."""
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        limit = parse_whole_number(raw)
        if limit is None or not 1 <= limit <= self.max_page_size:
            raise ValidationError(
                {"limit": [f"Must be a whole number from 1 to {self.max_page_size}."]}
            )
        return limit

    def get_paginated_response(self, data):
        return Response({"results": data, "next": self.next_cursor()})

    def next_cursor(self) -> str | None:
        """Return the bare cursor token of the next page, or None on the last page."""
        link = self.get_next_link()
        if link is None:
            return None
        return parse_qs(urlsplit(link).query)[self.cursor_query_param][0]

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"].update({"minimum": 1, "maximum": self.max_page_size})
        return parameters

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["results", "next"],
            "properties": {
                "results": schema,
                "next": {"type": "string", "nullable": True},
            },
        }
