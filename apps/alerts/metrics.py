"""The alerts' own Prometheus metrics: notification attempts (counted by the process that makes
them) and alerts by state and severity (counted in the database at scrape time, so one scrape
answers the same whichever process serves it)."""

import logging

from django.db import DatabaseError
from prometheus_client import Counter
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from apps.alerts import selectors
from apps.alerts.constants import AlertState
from apps.core.constants import Severity

logger = logging.getLogger(__name__)

NOTIFICATIONS = Counter(
    "aivmon_alert_notifications",
    "Notification attempts, by channel kind and outcome (sent, retryable, final).",
    ["channel_kind", "outcome"],
)


class AlertCountCollector(Collector):
    """aivmon_alerts{state, severity}: the alerts kept in each state, every pair shown (0 too)."""

    def collect(self):
        family = GaugeMetricFamily(
            "aivmon_alerts",
            "Alerts by state and severity (resolved ones until they are pruned).",
            labels=["state", "severity"],
        )
        try:
            counts = selectors.alert_counts()
        except DatabaseError as exc:
            logger.warning("alerts.metrics.unavailable", extra={"error": str(exc)})
            counts = None
        if counts is not None:
            for state in AlertState.values:
                for severity, name in Severity.choices:
                    family.add_metric([state, name], counts.get((state, severity), 0))
        yield family
