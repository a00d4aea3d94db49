MAX_METRIC_NAME_LEN = 200
MAX_LABELS = 32
MAX_LABEL_KEY_LEN = 100
MAX_LABEL_VALUE_LEN = 1024
MAX_NAME_LEN = 512  # span names, event names, status messages (the traces app keeps 512)
MAX_SERVICE_LEN = 255
MAX_BODY_LEN = 64 * 1024  # a log record's body
MAX_ATTRIBUTE_VALUE_LEN = 4096
MAX_ATTRIBUTE_KEY_LEN = 256
MAX_ATTRIBUTES = 128
MAX_ATTRIBUTE_DEPTH = 5
TRUNCATION_MARKER = "…[truncated]"
DEFAULT_SERVICE = "unknown_service"
SCRUBBED = "[scrubbed]"
RULES_CACHE_S = 30

SPAN_KINDS = ("unspecified", "internal", "server", "client", "producer", "consumer")
SPAN_STATUSES = ("UNSET", "OK", "ERROR", "TIMEOUT")
NATIVE_METRIC_TYPES = {
    "counter": "counter",
    "gauge": "gauge",
    "histogram": "histogram",
    "timer": "histogram",
}
