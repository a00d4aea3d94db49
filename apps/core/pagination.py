"""Lists as API.md has them: `?limit=` and an opaque `?cursor=`, answering {"results", "next"}.

Keyset pagination: a list is ordered by its ordering fields completed by the primary key, and
`next` names the last item shown (its value of each of those fields) and the list it belongs
to. The following page is the items after that one, so a walk returns each item that existed
when it began exactly once, even while newer items arrive (an offset into equal values would
shift). A cursor's values are checked against the types of the fields before they reach the
database: a forged or foreign cursor is a 400, never a 500.
"""

import base64
import binascii
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlencode

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Field, Model, Q, QuerySet
from django.utils import timezone
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import BasePagination
from rest_framework.response import Response

from apps.core.http import parse_whole_number

LIST_TAG = "l"  # the list a cursor was made for
AFTER = "k"  # the values of the last item shown, one per ordering field
# The cursors of before keyset pagination (DRF's: `p` a position of the first ordering field,
# `o` an offset into the items beyond it, `r` reverse) are still read, forward only, so that a
# walk begun before an upgrade goes on; they can go once no such cursor is in use.
LEGACY_KEYS = {"p", "o", "r"}
LEGACY_OFFSET_CUTOFF = 1000  # as DRF capped it
MAX_CURSOR_FIELDS = 16


@dataclass(frozen=True)
class SortKey:
    """One field of a list's ordering: its column, direction and model field (for its type)."""

    attname: str
    descending: bool
    field: Field

    @property
    def order_by(self) -> str:
        return f"-{self.attname}" if self.descending else self.attname

    def beyond(self, value: Any, *, inclusive: bool = False) -> Q:
        """Return the filter of the items after `value` in this key's direction."""
        lookup = ("lt" if self.descending else "gt") + ("e" if inclusive else "")
        return Q(**{f"{self.attname}__{lookup}": value})


class OpaqueCursorPagination(BasePagination):
    page_size = 100
    max_page_size = 1000
    page_size_query_param = "limit"
    cursor_query_param = "cursor"
    ordering: str | Sequence[str] = "-id"

    def paginate_queryset(self, queryset, request, view=None):
        """Return the page the request asks for: up to `limit` items after the cursor's item."""
        page_size = self.get_page_size(request)
        self.keys = sort_keys(queryset.model, self.ordering)
        self.tag = list_tag(queryset.model, self.keys)
        ordered = queryset.order_by(*(key.order_by for key in self.keys))
        remaining, offset = self.remaining(
            ordered, request.query_params.get(self.cursor_query_param)
        )
        rows = list(remaining[offset : offset + page_size + 1])
        self.page = rows[:page_size]
        self.has_next = len(rows) > page_size
        return self.page

    def remaining(self, ordered: QuerySet, cursor: str | None) -> tuple[QuerySet, int]:
        """Return the items at and after where `cursor` points, and how many of them to skip."""
        if cursor is None:
            return ordered, 0
        fields = cursor_fields(cursor)
        if set(fields) <= LEGACY_KEYS:
            return self.legacy_remaining(ordered, fields)
        if set(fields) != {LIST_TAG, AFTER} or fields[LIST_TAG] != [self.tag]:
            raise invalid_cursor("Invalid cursor: this list did not give it.")
        if len(fields[AFTER]) != len(self.keys):
            raise invalid_cursor()
        values = [
            position(key.field, text) for key, text in zip(self.keys, fields[AFTER], strict=True)
        ]
        return ordered.filter(after(self.keys, values)), 0

    def legacy_remaining(
        self, ordered: QuerySet, fields: dict[str, list[str]]
    ) -> tuple[QuerySet, int]:
        """Return what a forward DRF cursor pointed at: the items beyond `p`, skipping `o`."""
        if any(len(values) != 1 for values in fields.values()) or fields.get("r", ["0"]) != ["0"]:
            raise invalid_cursor()
        offset = parse_whole_number(fields.get("o", ["0"])[0])
        if offset is None:
            raise invalid_cursor()
        if "p" in fields:
            first = self.keys[0]
            ordered = ordered.filter(first.beyond(position(first.field, fields["p"][0])))
        return ordered, min(offset, LEGACY_OFFSET_CUTOFF)

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
        """Return the cursor of the next page (after the page's last item), or None on the last."""
        if not self.has_next:
            return None
        last = self.page[-1]
        values = [position_text(getattr(last, key.attname)) for key in self.keys]
        return encode_cursor([(LIST_TAG, self.tag), *((AFTER, value) for value in values)])

    def get_schema_operation_parameters(self, view):
        return [
            {
                "name": self.cursor_query_param,
                "required": False,
                "in": "query",
                "description": "The `next` of the previous page.",
                "schema": {"type": "string"},
            },
            {
                "name": self.page_size_query_param,
                "required": False,
                "in": "query",
                "description": "Number of results to return per page.",
                "schema": {"type": "integer", "minimum": 1, "maximum": self.max_page_size},
            },
        ]

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["results", "next"],
            "properties": {
                "results": schema,
                "next": {"type": "string", "nullable": True},
            },
        }


def sort_keys(model: type[Model], ordering: str | Sequence[str]) -> list[SortKey]:
    """Return the keys of `ordering`, completed by the primary key unless it ends unique."""
    names = [ordering] if isinstance(ordering, str) else list(ordering)
    keys = [_sort_key(model, name) for name in names]
    if not keys[-1].field.unique:
        keys.append(SortKey(model._meta.pk.attname, keys[-1].descending, model._meta.pk))
    return keys


def _sort_key(model: type[Model], name: str) -> SortKey:
    bare = name.lstrip("-")
    field = model._meta.pk if bare == "pk" else model._meta.get_field(bare)
    assert isinstance(field, Field), f"ordering {name!r} must name a column of {model}"
    return SortKey(field.attname, name.startswith("-"), field)


def list_tag(model: type[Model], keys: list[SortKey]) -> str:
    """Return a short name of a list (its model and ordering): what its cursors mean."""
    ordering = ",".join(key.order_by for key in keys)
    return hashlib.sha256(f"{model._meta.label_lower}:{ordering}".encode()).hexdigest()[:8]


def after(keys: list[SortKey], values: list[Any]) -> Q:
    """Return the filter of the items after the one with `values`, in the order of `keys`."""
    # (a, b, c) after (x, y, z): a beyond x, or a = x and b beyond y, or a = x, b = y and
    # c beyond z; the leading "a at or beyond x" lets the database range-scan an index on a.
    later, equal = Q(), Q()
    for key, value in zip(keys, values, strict=True):
        later |= equal & key.beyond(value)
        equal &= Q(**{key.attname: value})
    return keys[0].beyond(values[0], inclusive=True) & later


def position(field: Field, text: str) -> Any:
    """Return `text` as a value of `field` the database can compare, or refuse the cursor."""
    target = field.target_field if field.is_relation else field  # type: ignore[attr-defined]
    try:
        value = target.to_python(text)
        target.run_validators(value)  # integers within the column's range, strings' length
        if isinstance(value, datetime):
            value = _aware_utc(value)
    except (DjangoValidationError, ValueError, TypeError, OverflowError) as exc:
        raise invalid_cursor() from exc
    if value is None or isinstance(value, str) and "\x00" in value:
        raise invalid_cursor()
    return value


def _aware_utc(moment: datetime) -> datetime:
    if timezone.is_naive(moment):
        raise ValueError("a cursor's time has an offset")
    return moment.astimezone(UTC)  # OverflowError at the ends of the calendar


def position_text(value: Any) -> str:
    """Return a field value as a cursor holds it (times as RFC 3339, to the microsecond)."""
    return value.isoformat() if isinstance(value, datetime) else str(value)


def encode_cursor(fields: list[tuple[str, str]]) -> str:
    """Return the opaque (URL-safe base64) form of the cursor `fields`."""
    return base64.urlsafe_b64encode(urlencode(fields).encode("ascii")).decode().rstrip("=")


def cursor_fields(cursor: str) -> dict[str, list[str]]:
    """Return the fields of an opaque cursor (URL-safe base64, or DRF's standard base64)."""
    padded = cursor.replace("-", "+").replace("_", "/") + "=" * (-len(cursor) % 4)
    try:
        text = base64.b64decode(padded.encode("ascii"), validate=True).decode("ascii")
        return parse_qs(
            text, keep_blank_values=True, strict_parsing=True, max_num_fields=MAX_CURSOR_FIELDS
        )
    except (binascii.Error, ValueError) as exc:  # also UnicodeError
        raise invalid_cursor() from exc


def invalid_cursor(message: str = "Invalid cursor.") -> ValidationError:
    """Return the 400 of a cursor this server did not give for this list."""
    return ValidationError({"cursor": [message]})
