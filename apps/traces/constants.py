"""Span kinds and statuses as ingest hands them over, and the limits of trace reads."""

SPAN_KINDS = frozenset({"unspecified", "internal", "server", "client", "producer", "consumer"})
SPAN_STATUSES = ("OK", "ERROR", "TIMEOUT", "UNSET")
# A trace counts a span as an error when its status is one of these.
ERROR_STATUSES = frozenset({"ERROR", "TIMEOUT"})

TRACE_ID_LENGTH = 32
SPAN_ID_LENGTH = 16
# Indexed text is cut to this many characters: a PostgreSQL B-tree entry must stay under
# ~2.7 kB, and a character may take 4 bytes in UTF-8.
SERVICE_MAX_LENGTH = 255
NAME_MAX_LENGTH = 512
# Every span column but the id: the order of the writer's rows, and what a trace read returns.
SPAN_COLUMNS = (
    "trace_id",
    "span_id",
    "parent_span_id",
    "service",
    "name",
    "kind",
    "start_ns",
    "end_ns",
    "duration_ms",
    "status",
    "status_message",
    "attributes",
    "events",
    "resource",
)

# A trace read returns at most this many spans (earliest first) and says it was cut short.
TRACE_MAX_SPANS = 10_000
# Spans nested deeper than this are attached as extra roots, so that the JSON stays shallow.
TRACE_MAX_DEPTH = 200
