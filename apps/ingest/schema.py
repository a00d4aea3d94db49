"""OpenAPI description of the ingest endpoints, which are plain Django views (no DRF)."""

from typing import Any

_OBJECT = {"type": "object", "additionalProperties": True}
_TIME = {"oneOf": [{"type": "number"}, {"type": "string", "format": "date-time"}]}
_ID32 = {"type": "string", "pattern": "^[0-9a-f]{32}$"}
_ID16 = {"type": "string", "pattern": "^[0-9a-f]{16}$"}

_POINT = {
    "type": "object",
    "required": ["name", "type"],
    "properties": {
        "name": {"type": "string", "maxLength": 200},
        "service": {"type": "string"},
        "type": {"type": "string", "enum": ["counter", "gauge", "histogram", "timer"]},
        "value": {"type": "number"},
        "timestamp": _TIME,
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "count": {"type": "integer"},
        "sum": {"type": "number"},
        "buckets": {"type": "object", "additionalProperties": {"type": "integer"}},
    },
}
_SPAN = {
    "type": "object",
    "required": ["trace_id", "span_id", "name", "start_time", "end_time"],
    "properties": {
        "trace_id": _ID32,
        "span_id": _ID16,
        "parent_span_id": {**_ID16, "nullable": True},
        "name": {"type": "string"},
        "service": {"type": "string"},
        "kind": {
            "type": "string",
            "enum": ["unspecified", "internal", "server", "client", "producer", "consumer"],
        },
        "start_time": _TIME,
        "end_time": _TIME,
        "status": {"type": "string", "enum": ["OK", "ERROR", "TIMEOUT", "UNSET"]},
        "attributes": _OBJECT,
        "events": {"type": "array", "items": _OBJECT},
    },
}
_LOG = {
    "type": "object",
    "properties": {
        "timestamp": _TIME,
        "severity": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
        "body": {"type": "string"},
        "service": {"type": "string"},
        "attributes": _OBJECT,
        "trace_id": {**_ID32, "nullable": True},
        "span_id": {**_ID16, "nullable": True},
    },
}
_RESULT = {
    "type": "object",
    "required": ["accepted", "rejected", "errors"],
    "properties": {
        "accepted": {"type": "integer"},
        "rejected": {"type": "integer"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["index", "message"],
                "properties": {"index": {"type": "integer"}, "message": {"type": "string"}},
            },
        },
    },
}
_EVENT = {
    "type": "object",
    "required": ["event_type"],
    "properties": {
        "timestamp": _TIME,
        "event_type": {
            "type": "string",
            "description": "auth_failure, auth_success, request, admin_operation, data_access, "
            "permission_denied, or another lower-case name",
        },
        "service": {"type": "string"},
        "user_id": {"oneOf": [{"type": "string", "maxLength": 200}, {"type": "integer"}]},
        "source_ip": {"type": "string", "description": "IPv4 or IPv6"},
        "endpoint": {"type": "string"},
        "method": {"type": "string"},
        "params": _OBJECT,
        "user_agent": {"type": "string"},
        "details": _OBJECT,
    },
}
_DETECTION = {
    "type": "object",
    "properties": {
        "detector": {
            "type": "string",
            "enum": ["brute_force", "sql_injection", "rate_limit", "behavioral"],
        },
        "score": {"type": "number", "minimum": 0, "maximum": 1},
        "reason": {"type": "string"},
        "kind": {"type": "string"},
    },
}
_EVENT_RESULT = {
    **_RESULT,
    "properties": {
        **_RESULT["properties"],  # type: ignore[dict-item]
        "results": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "index": {"type": "integer"},
                    "threat_score": {"type": "number", "minimum": 0, "maximum": 1},
                    "severity": {
                        "type": "string",
                        "enum": ["info", "low", "medium", "high", "critical"],
                    },
                    "detections": {"type": "array", "items": _DETECTION},
                },
            },
        },
    },
}
_SECURITY: list[dict[str, list]] = [{"ApiKeyBearer": []}, {"ApiKeyHeader": []}]


def _native(summary: str, list_key: str, item: dict, answer: dict = _RESULT) -> dict[str, Any]:
    body = {
        "type": "object",
        "required": [list_key],
        "properties": {"service": {"type": "string"}, list_key: {"type": "array", "items": item}},
    }
    result = {"application/json": {"schema": answer}}
    return {
        "post": {
            "operationId": f"ingest_{list_key}",
            "summary": summary,
            "tags": ["ingest"],
            "security": _SECURITY,
            "requestBody": {"required": True, "content": {"application/json": {"schema": body}}},
            "responses": {
                "200": {"description": "At least one item was stored.", "content": result},
                "400": {
                    "description": "No item was stored: the per-item reasons, or an error envelope "
                    "when the batch as a whole is malformed.",
                    "content": {
                        "application/json": {
                            "schema": {"oneOf": [answer, {"$ref": "#/components/schemas/Error"}]}
                        }
                    },
                },
            },
        }
    }


def _otlp(signal: str, message: str) -> dict[str, Any]:
    content = {
        "application/x-protobuf": {"schema": {"type": "string", "format": "binary"}},
        "application/json": {"schema": _OBJECT},
    }
    return {
        "post": {
            "operationId": f"otlp_{signal}",
            "tags": ["otlp"],
            "security": _SECURITY,
            "summary": f"OTLP/HTTP {message} (protobuf or OTLP/JSON; hex ids)",
            "requestBody": {"required": True, "content": content},
            "responses": {
                "200": {
                    "description": f"{message}Response, with partial_success for "
                    "refused items, in the request's encoding",
                    "content": content,
                }
            },
        }
    }


_CASE = {
    "type": "object",
    "required": ["name", "outcome"],
    "properties": {
        "name": {"type": "string"},
        "module": {"type": "string"},
        "outcome": {"type": "string", "enum": ["passed", "failed", "error", "skipped"]},
        "duration": {"type": "number", "minimum": 0, "description": "seconds"},
        "message": {"type": "string"},
    },
}
_RUN_FIELDS = {key: {"type": "string"} for key in ("suite", "run_id", "commit", "branch")}
_RUN_SUMMARY = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "created": {"type": "boolean"},
        "run_id_generated": {"type": "boolean"},
        **_RUN_FIELDS,
        "started_at": {"type": "string", "format": "date-time"},
        "duration_s": {"type": "number"},
        "totals": {"type": "object", "additionalProperties": {"type": "integer"}},
        "success_rate": {"type": "number", "nullable": True},
        "slower_tests": {"type": "integer"},
        "flaky_tests": {"type": "integer"},
    },
}
_RUN_ANSWER = {
    "type": "object",
    "required": _RESULT["required"],
    "properties": {**_RESULT["properties"], **_RUN_SUMMARY["properties"]},  # type: ignore[dict-item]
}
_JUNIT = {"schema": {"type": "string", "description": "JUnit XML, as pytest --junitxml writes it"}}
_TEST_RUNS = {
    "post": {
        "operationId": "ingest_test_runs",
        "summary": "Store one test run (JUnit XML or JSON), once per suite and run_id",
        "tags": ["ingest"],
        "security": _SECURITY,
        "parameters": [
            {"name": key, "in": "query", "required": False, "schema": {"type": "string"}}
            for key in _RUN_FIELDS
        ],
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": ["cases"],
                        "properties": {
                            **_RUN_FIELDS,
                            "started_at": _TIME,
                            "cases": {"type": "array", "items": _CASE},
                        },
                    }
                },
                "application/xml": _JUNIT,
                "text/xml": _JUNIT,
            },
        },
        "responses": {
            "200": {
                "description": "The run was stored with its good cases (created), or was stored "
                "before and nothing changed (created: false); the items are the test cases.",
                "content": {"application/json": {"schema": _RUN_ANSWER}},
            },
            "400": {
                "description": "No case was accepted (the per-case reasons), or an error "
                "envelope when the report or a run-level field is bad.",
                "content": {
                    "application/json": {
                        "schema": {"oneOf": [_RESULT, {"$ref": "#/components/schemas/Error"}]}
                    }
                },
            },
            "503": {"description": "Storage busy or unreachable; see Retry-After."},
        },
    }
}

INGEST_PATHS = {
    "/api/v1/ingest/metrics": _native("Store a batch of metric points", "points", _POINT),
    "/api/v1/ingest/spans": _native("Store a batch of spans", "spans", _SPAN),
    "/api/v1/ingest/logs": _native("Store a batch of log records", "logs", _LOG),
    "/api/v1/ingest/security-events": _native(
        "Score and store a batch of security events", "events", _EVENT, _EVENT_RESULT
    ),
    "/api/v1/ingest/test-runs": _TEST_RUNS,
    "/otlp/v1/metrics": _otlp("metrics", "ExportMetricsService"),
    "/otlp/v1/traces": _otlp("traces", "ExportTraceService"),
    "/otlp/v1/logs": _otlp("logs", "ExportLogsService"),
}


def add_ingest_paths(result, generator, request, public):
    """Add the ingest endpoints to the generated schema."""
    result.setdefault("paths", {}).update(INGEST_PATHS)
    return result
