"""Rules, channels and metric points for the alert tests."""

import time
from datetime import datetime

import factory

from apps.alerts.models import AlertRule, Channel
from apps.core.constants import Severity
from apps.metrics.services import PointIn, points_write


class ChannelFactory(factory.django.DjangoModelFactory):
    """A webhook channel (no secret) to a port nobody listens on unless a test says so."""

    class Meta:
        model = Channel

    name = factory.Sequence(lambda n: f"hook-{n}")
    kind = "webhook"
    config = factory.LazyFunction(lambda: {"url": "http://127.0.0.1:9/hook"})


class RuleFactory(factory.django.DjangoModelFactory):
    """cpu_percent of service api averaged over 10 minutes above 90."""

    class Meta:
        model = AlertRule
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"cpu hot {n}")
    kind = "metric_threshold"
    severity = Severity.HIGH
    params = factory.LazyFunction(
        lambda: {
            "metric": "cpu_percent",
            "service": "api",
            "labels": {},
            "group_by": "",
            "agg": "avg",
            "window_s": 600,
            "op": ">",
            "threshold": 90,
            "for_s": 0,
            "keep_firing_for_s": 0,
        }
    )
    summary_template = "CPU on {{ labels.host }} at {{ value }}%"
    group_wait_s = 1

    @factory.post_generation
    def channels(self, create, extracted, **kwargs):
        if create and extracted:
            self.channels.set(extracted)


def cpu(value: float, *, host: str = "a", at: datetime | None = None) -> None:
    """Store one cpu_percent gauge point of api on `host` (now, or at `at`)."""
    ts = at.timestamp() if at else time.time()
    points_write(
        points=[
            PointIn(
                name="cpu_percent",
                type="gauge",
                service="api",
                labels={"host": host},
                ts_ms=int(ts * 1000),
                value=value,
            )
        ]
    )
