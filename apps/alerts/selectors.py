"""Alert reads: alerts with their notifications, rules, channels, silences."""

from django.db.models import Count, Prefetch, QuerySet

from apps.alerts.models import Alert, AlertRule, Channel, Delivery, Silence


def alert_list(*, state: str | None = None, severity: int | None = None) -> QuerySet[Alert]:
    """Return alerts (of a state, at least a severity), newest first, with their deliveries."""
    alerts = Alert.objects.select_related("rule").prefetch_related(
        Prefetch("deliveries", queryset=Delivery.objects.select_related("channel").order_by("pk"))
    )
    if state:
        alerts = alerts.filter(state=state)
    if severity is not None:
        alerts = alerts.filter(severity__gte=severity)
    return alerts.order_by("-starts_at", "-id")


def alert_get(*, alert_id: int) -> Alert | None:
    return alert_list().prefetch_related("transitions").filter(pk=alert_id).first()


def rule_list() -> QuerySet[AlertRule]:
    return AlertRule.objects.prefetch_related("channels").order_by("name")


def rule_get(*, rule_id: int) -> AlertRule | None:
    return rule_list().filter(pk=rule_id).first()


def channel_list() -> QuerySet[Channel]:
    return Channel.objects.order_by("name")


def channel_get(*, channel_id: int) -> Channel | None:
    return Channel.objects.filter(pk=channel_id).first()


def silence_list(*, active_only: bool = False) -> QuerySet[Silence]:
    silences = Silence.objects.order_by("-starts_at", "-id")
    return silences.filter(expired_at__isnull=True) if active_only else silences


def silence_get(*, silence_id: int) -> Silence | None:
    return Silence.objects.filter(pk=silence_id).first()


def alert_counts() -> dict[tuple[str, int], int]:
    """Return how many alerts are in each (state, severity), in one GROUP BY."""
    rows = (
        Alert.objects.order_by()
        .values("state", "severity")
        .annotate(count=Count("pk"))
        .values_list("state", "severity", "count")
    )
    return {(state, severity): count for state, severity, count in rows}
