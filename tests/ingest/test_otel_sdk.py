"""An unmodified OpenTelemetry SDK exports to a live aivmon; the read API returns the data."""

import logging

import pytest
from django.test import Client
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import Status, StatusCode

pytestmark = pytest.mark.django_db(transaction=True)

RESOURCE = Resource.create({"service.name": "checkout"})


@pytest.fixture
def otlp(live_server, make_key):
    """Exporter settings as an operator would give them: base URL and the key header."""
    return {"base": f"{live_server.url}/otlp/v1", "headers": {"x-api-key": make_key("ingest")}}


@pytest.fixture
def reader(make_key) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {make_key('read')}")


def test_spans_with_parent_and_child_arrive_as_a_tree(otlp, reader):
    provider = TracerProvider(resource=RESOURCE)
    provider.add_span_processor(
        SimpleSpanProcessor(
            OTLPSpanExporter(endpoint=f"{otlp['base']}/traces", headers=otlp["headers"])
        )
    )
    tracer = provider.get_tracer("tests")
    with tracer.start_as_current_span("POST /checkout") as parent:
        parent.set_attribute("http.status_code", 500)
        parent.set_attribute("user.email", "alice@example.com")
        with tracer.start_as_current_span("SELECT orders") as child:
            child.set_status(Status(StatusCode.ERROR, "timeout"))
    provider.shutdown()
    trace_id = format(parent.get_span_context().trace_id, "032x")

    tree = reader.get(f"/api/v1/traces/{trace_id}").json()

    root = tree["spans"][0]
    assert tree["trace_id"] == trace_id and root["name"] == "POST /checkout"
    assert root["span_id"] == format(parent.get_span_context().span_id, "016x")
    assert [c["name"] for c in root["children"]] == ["SELECT orders"]
    assert root["children"][0]["status"] == "ERROR"
    assert root["attributes"]["user.email"] == "[scrubbed]"
    summary = reader.get("/api/v1/traces?service=checkout").json()["results"][0]
    assert summary["trace_id"] == trace_id and summary["span_count"] == 2
    assert summary["error_count"] == 1


def test_a_counter_and_a_histogram_arrive_and_can_be_queried(otlp, reader):
    exporter = OTLPMetricExporter(endpoint=f"{otlp['base']}/metrics", headers=otlp["headers"])
    provider = MeterProvider(
        resource=RESOURCE,
        metric_readers=[PeriodicExportingMetricReader(exporter, export_interval_millis=3_600_000)],
    )
    meter = provider.get_meter("tests")
    orders = meter.create_counter("orders_total")
    latency = meter.create_histogram("request_ms", unit="ms")
    orders.add(3, {"region": "eu"})
    orders.add(2, {"region": "eu"})
    for value in (5, 20, 20, 80, 300):
        latency.record(value, {"route": "/checkout"})
    provider.force_flush()
    provider.shutdown()  # exports the same cumulative figures once more

    series = reader.get("/api/v1/metrics/series?name=orders_total").json()["results"]
    counted = reader.get("/api/v1/metrics/query?name=orders_total&agg=max&step=3600").json()
    latencies = reader.get("/api/v1/metrics/query?name=request_ms&agg=p50&step=3600").json()

    assert [(s["type"], s["service"], s["labels"]) for s in series] == [
        ("counter", "checkout", {"region": "eu"})
    ]
    assert counted["series"][0]["points"][-1][1] == 5
    assert 10 <= latencies["series"][0]["points"][-1][1] <= 25


def test_log_records_arrive_with_their_trace_and_are_found_by_words(otlp, reader):
    tracer_provider = TracerProvider(resource=RESOURCE)
    provider = LoggerProvider(resource=RESOURCE)
    provider.add_log_record_processor(
        SimpleLogRecordProcessor(
            OTLPLogExporter(endpoint=f"{otlp['base']}/logs", headers=otlp["headers"])
        )
    )
    logger = logging.getLogger("aivmon.tests.otel")
    logger.propagate = False
    logger.addHandler(LoggingHandler(logger_provider=provider))
    with tracer_provider.get_tracer("tests").start_as_current_span("pay") as span:
        logger.error("payment failed for card 4111 1111 1111 1111")
    provider.shutdown()
    trace_id = format(span.get_span_context().trace_id, "032x")

    records = reader.get("/api/v1/logs?q=payment+failed").json()["results"]

    assert [r["body"] for r in records] == ["payment failed for card [scrubbed]"]
    assert records[0]["trace_id"] == trace_id and records[0]["severity"] == "ERROR"
    assert records[0]["service"] == "checkout"
