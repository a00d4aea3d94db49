"""What to send to see data: the copy-paste examples the pages show while they are empty."""

from typing import NamedTuple


class Example(NamedTuple):
    title: str
    hint: str
    code: str  # may hold %(start)d and %(end)d: epoch seconds a minute ago and now

    def at(self, now: float) -> "Example":
        """The example with its times set around `now`, so that pasted data shows at once."""
        return self._replace(code=self.code % {"start": int(now) - 60, "end": int(now)})


_CURL = 'curl -X POST http://127.0.0.1:8000{path} \\\n  -H "Authorization: Bearer $AIVMON_KEY" -H "Content-Type: application/json" \\\n  -d \'{body}\''  # noqa: E501

EXAMPLES: dict[str, Example] = {
    "metrics": Example(
        "No metrics yet",
        "Send points with an API key of scope ingest, or point an OpenTelemetry SDK at "
        "OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:8000/otlp.",
        _CURL.format(
            path="/api/v1/ingest/metrics",
            body='{"service": "api", "points": [{"name": "http_requests_total", '
            '"type": "counter", "value": 3, "labels": {"route": "/login"}}]}',
        ),
    ),
    "traces": Example(
        "No traces yet",
        "Export spans from an OpenTelemetry SDK (OTLP/HTTP) or post them natively.",
        _CURL.format(
            path="/api/v1/ingest/spans",
            body='{"service": "api", "spans": [{"trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", '
            '"span_id": "00f067aa0ba902b7", "name": "GET /login", "start_time": %(start)d.0, '
            '"end_time": %(end)d.25}]}',
        ),
    ),
    "logs": Example(
        "No log records yet",
        "Ship logs through OTLP (/otlp/v1/logs) or post them natively.",
        _CURL.format(
            path="/api/v1/ingest/logs",
            body='{"service": "api", "logs": [{"severity": "ERROR", '
            '"body": "payment declined", "attributes": {"order": "A-17"}}]}',
        ),
    ),
    "security": Example(
        "No security events yet",
        "Report sign-ins, permission denials and requests; every event is scored at once.",
        _CURL.format(
            path="/api/v1/ingest/security-events",
            body='{"service": "api", "events": [{"event_type": "auth_failure", '
            '"source_ip": "203.0.113.9", "user_id": "alice", "endpoint": "/login"}]}',
        ),
    ),
    "alerts": Example(
        "No alerts",
        "Nothing is firing. Admins create rules in the admin or through the API.",
        _CURL.format(
            path="/api/v1/alert-rules",
            body='{"name": "High error rate", "kind": "metric_threshold", "severity": "high", '
            '"params": {"metric": "http_errors_total", "agg": "rate", "window_s": 300, '
            '"op": ">", "threshold": 5, "for_s": 60}}',
        ),
    ),
    "testruns": Example(
        "No test runs yet",
        "Post a JUnit XML report from CI after each run.",
        'curl -X POST "http://127.0.0.1:8000/api/v1/ingest/test-runs?suite=unit&commit=$GIT_SHA" '
        '\\\n  -H "Authorization: Bearer $AIVMON_KEY" -H "Content-Type: application/xml" '
        "\\\n  --data-binary @junit.xml",
    ),
    "health": Example(
        "No host samples yet",
        "The worker samples this host every minute once `make run` is up; components are "
        "checked on the same beat.",
        "make run",
    ),
    "pipelines": Example(
        "No pipeline runs yet",
        "A pipeline run is a trace whose root span carries the attribute pipeline.name, "
        "with child spans named phase_<name>.",
        _CURL.format(
            path="/api/v1/ingest/spans",
            body='{"service": "forge", "spans": [{"trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", '
            '"span_id": "00f067aa0ba902b7", "name": "pipeline", "start_time": %(start)d.0, '
            '"end_time": %(end)d.0, "attributes": {"pipeline.name": "train"}}]}',
        ),
    ),
}
