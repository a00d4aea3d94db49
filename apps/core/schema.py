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
