"""Deliveries against a real webhook receiver: retries with growing waits, dead letters, replay,
the ledger, and a channel's test notification."""

import pytest
from django.utils import timezone
from prometheus_client import REGISTRY

from apps.alerts import services
from apps.alerts.channels.webhook import verify
from apps.alerts.constants import DeliveryStatus
from apps.alerts.delivery import delivery_attempt
from apps.alerts.models import Channel, Delivery
from apps.audit.services import SYSTEM
from tests.alerts.factories import RuleFactory, cpu
from tests.alerts.servers import RecordingHTTPServer

pytestmark = pytest.mark.django_db

SECRET = "s3cret"


def _channel(url: str):
    return services.channel_save(
        channel=None,
        name="ops-hook",
        kind="webhook",
        config={"url": url, "secret": SECRET},
        actor=SYSTEM,
    )


def _firing_delivery(url: str) -> Delivery:
    from apps.alerts import engine, notify
    from apps.alerts.models import NotificationGroup

    RuleFactory(channels=[_channel(url)])
    now = timezone.now()
    cpu(97, at=now)
    engine.rules_evaluate(now=now)
    for group in NotificationGroup.objects.all():
        notify.flush(group_id=group.pk, now=now + timezone.timedelta(seconds=1))
    return Delivery.objects.get()


def _attempt_until_settled(delivery: Delivery) -> list[float]:
    waits = []
    while (wait := delivery_attempt(delivery_id=delivery.pk, now=timezone.now())) is not None:
        waits.append(wait)
    return waits


def test_two_server_errors_then_success_is_three_attempts_with_growing_waits():
    with RecordingHTTPServer([(500, {}, b""), (500, {}, b"")]) as receiver:
        delivery = _firing_delivery(f"{receiver.url}/hook")

        waits = _attempt_until_settled(delivery)

    delivery.refresh_from_db()
    outcomes = list(delivery.attempt_log.values_list("outcome", "status_code"))
    assert outcomes == [("retryable", 500), ("retryable", 500), ("sent", 200)]
    assert len(waits) == 2 and waits[0] < waits[1]
    assert delivery.status == DeliveryStatus.SENT and delivery.attempts == 3
    assert len(receiver.requests) == 3


def test_every_attempt_is_signed_and_carries_the_alert():
    with RecordingHTTPServer() as receiver:
        delivery = _firing_delivery(f"{receiver.url}/hook")
        _attempt_until_settled(delivery)

    request = receiver.requests[0]
    body = request.json()
    assert verify(
        SECRET,
        request.headers["x-aivmon-timestamp"],
        request.body,
        request.headers["x-aivmon-signature"],
    )
    assert body["event"] == "firing"
    assert body["alert"]["state"] == "firing" and body["alert"]["value"] == 97
    assert body["alert"]["url"].endswith(f"/ui/alerts/{body['alert']['id']}/")


def test_a_client_error_is_one_attempt_and_a_dead_letter_that_can_be_replayed():
    with RecordingHTTPServer([(400, {}, b"bad")]) as receiver:
        delivery = _firing_delivery(f"{receiver.url}/hook")
        waits = _attempt_until_settled(delivery)
        delivery.refresh_from_db()
        dead = (delivery.status, delivery.attempts)

        replayed = services.deliveries_replay(
            delivery_ids=[delivery.pk], actor=SYSTEM, now=timezone.now()
        )
        _attempt_until_settled(delivery)

    delivery.refresh_from_db()
    assert waits == [] and dead == (DeliveryStatus.DEAD, 1)
    assert replayed == 1
    assert delivery.status == DeliveryStatus.SENT
    assert len(receiver.requests) == 2


def test_retry_after_is_honoured():
    with RecordingHTTPServer([(429, {"Retry-After": "7"}, b"")]) as receiver:
        delivery = _firing_delivery(f"{receiver.url}/hook")

        wait = delivery_attempt(delivery_id=delivery.pk, now=timezone.now())

    assert wait is not None and wait >= 7


def test_a_delivery_that_keeps_failing_is_dead_after_its_last_attempt(settings):
    settings.AIVMON_ALERT_DELIVERY_ATTEMPTS = 3
    with RecordingHTTPServer(default=(503, {}, b"")) as receiver:
        delivery = _firing_delivery(f"{receiver.url}/hook")
        waits = _attempt_until_settled(delivery)

    delivery.refresh_from_db()
    assert len(waits) == 2
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (
        DeliveryStatus.DEAD,
        3,
        503,
    )


def test_an_attempt_already_claimed_is_not_sent_twice():
    with RecordingHTTPServer() as receiver:
        delivery = _firing_delivery(f"{receiver.url}/hook")
        _attempt_until_settled(delivery)

        again = delivery_attempt(delivery_id=delivery.pk, now=timezone.now())

    assert again is None and len(receiver.requests) == 1


def test_admins_send_a_test_notification_through_a_channel(admin_client):
    with RecordingHTTPServer() as receiver:
        channel = _channel(f"{receiver.url}/hook")

        response = admin_client.post(f"/api/v1/channels/{channel.pk}/test")

    assert response.status_code == 200
    assert response.json()["status"] == "sent" and response.json()["event"] == "test"
    assert receiver.requests[0].json()["event"] == "test"


def test_a_failing_test_notification_is_reported_not_retried(admin_client):
    with RecordingHTTPServer(default=(500, {}, b"")) as receiver:
        channel = _channel(f"{receiver.url}/hook")

        response = admin_client.post(f"/api/v1/channels/{channel.pk}/test")

    assert response.json()["status"] == "dead" and response.json()["last_status_code"] == 500
    assert len(receiver.requests) == 1


def _notifications_counted(kind: str, outcome: str) -> float:
    labels = {"channel_kind": kind, "outcome": outcome}
    return REGISTRY.get_sample_value("aivmon_alert_notifications_total", labels) or 0.0


def test_every_attempt_is_counted_by_channel_kind_and_outcome():
    sent_before = _notifications_counted("webhook", "sent")
    retryable_before = _notifications_counted("webhook", "retryable")
    with RecordingHTTPServer([(500, {}, b"")]) as receiver:
        _attempt_until_settled(_firing_delivery(f"{receiver.url}/hook"))

    assert _notifications_counted("webhook", "sent") == sent_before + 1
    assert _notifications_counted("webhook", "retryable") == retryable_before + 1


def test_a_delivery_through_a_channel_stored_with_a_broken_config_is_dead_not_an_error():
    with RecordingHTTPServer() as receiver:
        delivery = _firing_delivery(f"{receiver.url}/hook")
    Channel.objects.update(kind="github")  # as a kind change before PATCH checked it did

    waits = _attempt_until_settled(delivery)

    delivery.refresh_from_db()
    assert waits == [] and delivery.status == DeliveryStatus.DEAD
    assert delivery.last_error.startswith("the stored config of this github channel")


def _a_bug_in_the_channel(monkeypatch) -> None:
    from apps.alerts.channels.webhook import WebhookChannel

    def send(*args, **kwargs):
        raise TypeError("list indices must be integers or slices, not str")

    monkeypatch.setattr(WebhookChannel, "send", send)


def test_an_unexpected_error_in_a_channel_is_retried_then_dead_and_replayable(
    monkeypatch, settings
):
    settings.AIVMON_ALERT_DELIVERY_ATTEMPTS = 3
    _a_bug_in_the_channel(monkeypatch)
    delivery = _firing_delivery("http://127.0.0.1:9/hook")

    first = delivery_attempt(delivery_id=delivery.pk, now=timezone.now())
    delivery.refresh_from_db()
    after_first = delivery.status
    _attempt_until_settled(delivery)

    delivery.refresh_from_db()
    assert first is not None and after_first == DeliveryStatus.RETRYING
    assert delivery.status == DeliveryStatus.DEAD and delivery.attempts == 3
    assert "TypeError" in delivery.last_error and "list indices" in delivery.last_error
    assert list(delivery.attempt_log.values_list("outcome", flat=True)) == ["retryable"] * 3
    replayed = services.deliveries_replay(
        delivery_ids=[delivery.pk], actor=SYSTEM, now=timezone.now()
    )
    assert replayed == 1


def test_a_delivery_whose_task_was_lost_is_sent_by_the_tick_once(monkeypatch):
    from datetime import timedelta

    from apps.alerts import tasks

    sent_to_workers = []
    monkeypatch.setattr(
        tasks.deliver, "delay", lambda delivery_id: sent_to_workers.append(delivery_id)
    )
    with RecordingHTTPServer([]) as receiver:
        delivery = _firing_delivery(f"{receiver.url}/hook")
        Delivery.objects.filter(pk=delivery.pk).update(
            created_at=timezone.now() - timedelta(minutes=10)
        )

        tasks.tick()
        for delivery_id in sent_to_workers:
            tasks.deliver(delivery_id)
        tasks.tick()  # sent: nothing overdue any more

        delivery.refresh_from_db()
        assert sent_to_workers == [delivery.pk]
        assert delivery.status == DeliveryStatus.SENT
        assert len(receiver.requests) == 1


def test_an_overdue_delivery_is_handed_out_once_per_grace_period():
    from datetime import timedelta

    from apps.alerts.delivery import OVERDUE_AFTER, deliveries_overdue

    delivery = _firing_delivery("http://127.0.0.1:9/hook")
    now = timezone.now()
    fresh = deliveries_overdue(now=now)
    late = now + OVERDUE_AFTER + timedelta(seconds=1)

    first, again = deliveries_overdue(now=late), deliveries_overdue(now=late)

    assert fresh == [] and first == [delivery.pk] and again == []
