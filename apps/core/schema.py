"""OpenAPI post-processing: the error envelope is a documented answer of every operation."""

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "details"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "details": {"nullable": True},
            },
        }
    },
}
ERROR_ANSWERS = {
    "400": "Bad input.",
    "401": "No or bad credentials.",
    "403": "Lacking the role or the key scope.",
    "404": "Not found.",
    "405": "Method not allowed.",
    "406": "Not acceptable.",
    "415": "Unsupported content type or encoding.",
    "429": "Overloaded or throttled; see Retry-After.",
}
BODY_ERROR_ANSWERS = {"411": "Chunked body without Content-Length.", "413": "Body too large."}
BODY_METHODS = {"post", "put", "patch"}


def add_error_responses(result, generator, request, public):
    """Attach the error envelope to every operation's documented 4xx answers."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    reference = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            answers = {**ERROR_ANSWERS, **(BODY_ERROR_ANSWERS if method in BODY_METHODS else {})}
            responses = operation.setdefault("responses", {})
            for status, description in answers.items():
                responses.setdefault(status, {"description": description, "content": reference})
    return result


_CHECK = {
    "type": "object",
    "required": ["ok"],
    "properties": {"ok": {"type": "boolean"}, "error": {"type": "string"}},
}
_READINESS = {
    "type": "object",
    "required": ["status", "checks", "failed", "worker"],
    "properties": {
        "status": {"type": "string", "enum": ["ready", "unavailable"]},
        "checks": {"type": "object", "additionalProperties": _CHECK},
        "failed": {"type": "array", "items": {"type": "string"}},
        "worker": {
            "type": "object",
            "properties": {
                "last_heartbeat": {
                    "type": "number",
                    "nullable": True,
                    "description": "epoch seconds",
                },
                "age_s": {"type": "number", "nullable": True},
            },
        },
    },
}
_LIVENESS = {
    "type": "object",
    "required": ["status"],
    "properties": {"status": {"type": "string", "enum": ["ok"]}},
}


def _json(schema: dict) -> dict:
    return {"application/json": {"schema": schema}}


def _probe(operation_id: str, summary: str, responses: dict) -> dict:
    """A GET (HEAD answers alike) without credentials."""
    return {
        "get": {
            "operationId": operation_id,
            "summary": summary,
            "tags": ["probes"],
            "security": [],
            "responses": responses,
        }
    }


PROBE_PATHS = {
    "/healthz": _probe(
        "healthz",
        "Liveness: answers while the process serves",
        {"200": {"description": "The process serves.", "content": _json(_LIVENESS)}},
    ),
    "/readyz": _probe(
        "readyz",
        "Readiness: the database and Redis answer",
        {
            "200": {"description": "Ready.", "content": _json(_READINESS)},
            "503": {
                "description": "Not ready; `failed` names what did not answer.",
                "headers": {"Retry-After": {"schema": {"type": "string"}}},
                "content": _json(_READINESS),
            },
        },
    ),
    "/metrics": _probe(
        "metrics",
        "aivmon's own metrics in the Prometheus text exposition format",
        {
            "200": {
                "description": "Prometheus text exposition.",
                "content": {"text/plain": {"schema": {"type": "string"}}},
            }
        },
    ),
}


def add_probe_paths(result, generator, request, public):
    """Describe /healthz, /readyz and /metrics, which are plain Django views (no DRF)."""
    result.setdefault("paths", {}).update(PROBE_PATHS)
    return result
