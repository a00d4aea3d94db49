"""Alerts page reads: active alerts, a page of history, silences, one alert's delivery ledger."""

from datetime import datetime
from typing import Any

from django.db.models import Case, Count, IntegerField, Prefetch, Value, When
from django.utils import timezone

from apps.alerts import selectors as alerts
from apps.alerts.constants import ACTIVE_STATES, AlertState
from apps.alerts.models import Alert, AlertTransition, Delivery, DeliveryAttempt, Silence
from apps.dashboards.queries.overview import severity_timeline

ACTIVE_SHOWN = 200
HISTORY_PAGE = 25
MAX_HISTORY_PAGE = 400  # 10,000 alerts back: an OFFSET beyond that is the API's job (cursor)
SILENCES_SHOWN = 50
LEDGER_SHOWN = 100
_STATE_ORDER = (
    AlertState.FIRING,
    AlertState.PENDING,
    AlertState.ACKNOWLEDGED,
    AlertState.SILENCED,
)
_STATE_RANK = Case(
    *(When(state=state, then=Value(rank)) for rank, state in enumerate(_STATE_ORDER)),
    output_field=IntegerField(),
)


def active_alerts() -> list[Alert]:
    """Alerts not yet resolved: firing first, then the worst and newest."""
    rows = (
        Alert.objects.filter(state__in=ACTIVE_STATES)
        .select_related("rule")
        .annotate(state_rank=_STATE_RANK)
        .order_by("state_rank", "-severity", "-starts_at", "-id")
    )
    return list(rows[:ACTIVE_SHOWN])


def state_counts() -> dict[str, int]:
    """How many alerts are in each active state."""
    rows = Alert.objects.filter(state__in=ACTIVE_STATES).values("state").annotate(n=Count("id"))
    counts: dict[str, int] = dict.fromkeys(ACTIVE_STATES, 0)
    counts.update({row["state"]: row["n"] for row in rows.order_by()})
    return counts


def resolved_page(*, page: int) -> tuple[list[Alert], bool]:
    """One page (1-based) of resolved alerts, newest end first, and whether another follows."""
    offset = (page - 1) * HISTORY_PAGE
    rows = (
        Alert.objects.filter(state=AlertState.RESOLVED)
        .select_related("rule")
        .order_by("-ends_at", "-id")[offset : offset + HISTORY_PAGE + 1]
    )
    found = list(rows)
    return found[:HISTORY_PAGE], len(found) > HISTORY_PAGE


def current_silences(*, now: datetime | None = None) -> list[Silence]:
    """Silences not expired and not yet ended (active or starting later), ending soonest first."""
    moment = now or timezone.now()
    rows = alerts.silence_list(active_only=True).filter(ends_at__gt=moment)
    return list(rows.order_by("ends_at", "id")[:SILENCES_SHOWN])


def alert_detail(*, alert_id: int) -> dict[str, Any] | None:
    """One alert with its transitions and its delivery ledger (each delivery's attempts)."""
    alert = Alert.objects.select_related("rule", "silence").filter(pk=alert_id).first()
    if alert is None:
        return None
    transitions = AlertTransition.objects.filter(alert=alert).order_by("at", "id")
    deliveries = (
        Delivery.objects.filter(alerts=alert)
        .select_related("channel")
        .prefetch_related(
            Prefetch("attempt_log", queryset=DeliveryAttempt.objects.order_by("at", "id"))
        )
        .order_by("created_at", "id")
    )
    return {
        "alert": alert,
        "transitions": list(transitions[:LEDGER_SHOWN]),
        "deliveries": list(deliveries[:LEDGER_SHOWN]),
    }


def alert_timeline(*, start: datetime, end: datetime) -> dict[str, Any]:
    """Alerts started per minute (or hour) by severity between start and end."""
    return severity_timeline(Alert.objects.all(), "starts_at", start=start, end=end)
