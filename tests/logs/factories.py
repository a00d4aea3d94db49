import factory

from apps.logs.services import LogIn

T0_NS = 1_764_200_000_000_000_000  # 2025-11-26T23:33:20Z
S = 1_000_000_000


class LogInFactory(factory.Factory):
    """An INFO record from api at T0 + `at_s` seconds."""

    class Meta:
        model = LogIn
        exclude = ("at_s",)

    at_s = 0
    ts_ns = factory.LazyAttribute(lambda o: T0_NS + o.at_s * S)
    severity_number = 9
    severity_text = "INFO"
    body = factory.Sequence(lambda n: f"request {n} served")
    service = "api"
    attributes = factory.LazyFunction(dict)
    resource = factory.LazyFunction(lambda: {"service.name": "api"})
    trace_id = None
    span_id = None
