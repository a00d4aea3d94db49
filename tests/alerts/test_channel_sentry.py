import pytest
import sentry_sdk

from apps.alerts.channels.base import FinalError, RetryableError, Target
from apps.alerts.channels.sentry import SentryChannel
from tests.alerts.servers import free_port, parse_envelope

CHANNEL = SentryChannel()


def _target(dsn: str) -> Target:
    return Target(name="ops-sentry", kind="sentry", config={}, secrets={"dsn": dsn})


def test_it_sends_a_message_with_level_tags_and_fingerprint(start_sentry_double, make_notification):
    sentry = start_sentry_double()

    result = CHANNEL.send(make_notification("firing"), _target(sentry.dsn()), timeout_s=5)

    [request] = sentry.requests
    [event] = sentry.events()
    assert (request.method, request.route) == ("POST", "/api/1/envelope/")
    assert request.headers["content-type"] == "application/x-sentry-envelope"
    assert "sentry_key=publickey" in request.headers["x-sentry-auth"]
    assert event["message"] == "[firing] CPU above 90% on a"
    assert event["level"] == "error"
    assert event["fingerprint"] == ["3f2a9c0d1e"]
    assert event["tags"] == {
        "rule": "cpu hot",
        "severity": "high",
        "state": "firing",
        "event": "firing",
        "label.host": "a",
        "label.service": "api",
    }
    assert event["extra"]["alert_url"] == "https://aivmon.example/alerts/7"
    assert result.status_code == 200
    assert result.detail == event["event_id"]


@pytest.mark.parametrize(
    ("severity", "level"),
    [
        ("critical", "fatal"),
        ("high", "error"),
        ("medium", "warning"),
        ("low", "info"),
        ("info", "info"),
    ],
)
def test_the_level_follows_the_severity(
    severity, level, start_sentry_double, make_notification, make_alert
):
    sentry = start_sentry_double()

    notification = make_notification("firing", make_alert(severity=severity))
    CHANNEL.send(notification, _target(sentry.dsn()), timeout_s=5)

    assert sentry.events()[0]["level"] == level


def test_a_resolved_alert_is_sent_at_info_level(start_sentry_double, make_notification):
    sentry = start_sentry_double()

    CHANNEL.send(make_notification("resolved"), _target(sentry.dsn()), timeout_s=5)

    assert sentry.events()[0]["level"] == "info"


def test_a_group_sends_one_event_per_alert(start_sentry_double, make_notification, make_alert):
    sentry = start_sentry_double()
    alerts = [make_alert(fingerprint=f"fp{n}") for n in range(3)]

    CHANNEL.send(make_notification("firing", *alerts), _target(sentry.dsn()), timeout_s=5)

    assert sorted(event["fingerprint"][0] for event in sentry.events()) == ["fp0", "fp1", "fp2"]


def test_it_sends_through_its_own_client_and_leaves_aivmons_client_alone(
    start_sentry_double, make_notification
):
    own, channels = start_sentry_double(), start_sentry_double()
    aivmons_client = sentry_sdk.Client(own.dsn(), default_integrations=False)

    with sentry_sdk.new_scope() as scope:
        scope.set_client(aivmons_client)
        CHANNEL.send(make_notification(), _target(channels.dsn()), timeout_s=5)
        current = sentry_sdk.get_client()
    aivmons_client.close(timeout=1)

    assert current is aivmons_client
    assert len(channels.events()) == 1
    assert own.requests == []


def test_nothing_of_the_global_scope_leaks_into_the_event(start_sentry_double, make_notification):
    sentry = start_sentry_double()

    with sentry_sdk.new_scope() as scope:
        scope.set_tag("internal", "secret")
        CHANNEL.send(make_notification(), _target(sentry.dsn()), timeout_s=5)

    assert "internal" not in sentry.events()[0]["tags"]


def test_a_server_error_is_retryable(start_sentry_double, make_notification):
    sentry = start_sentry_double([(503, {}, b"")])

    with pytest.raises(RetryableError) as caught:
        CHANNEL.send(make_notification(), _target(sentry.dsn()), timeout_s=5)

    assert caught.value.status_code == 503


def test_a_rate_limit_is_retryable_after_the_servers_delay(start_sentry_double, make_notification):
    sentry = start_sentry_double([(429, {"Retry-After": "42"}, b"")])

    with pytest.raises(RetryableError) as caught:
        CHANNEL.send(make_notification(), _target(sentry.dsn()), timeout_s=5)

    assert (caught.value.status_code, caught.value.retry_after_s) == (429, 42)


def test_a_rate_limit_header_sets_the_delay(start_sentry_double, make_notification):
    limits = {"X-Sentry-Rate-Limits": "60:error:organization, 120:transaction:project"}
    sentry = start_sentry_double([(429, limits, b"")])

    with pytest.raises(RetryableError) as caught:
        CHANNEL.send(make_notification(), _target(sentry.dsn()), timeout_s=5)

    assert caught.value.retry_after_s == 120


def test_a_rejected_key_is_final(start_sentry_double, make_notification):
    sentry = start_sentry_double([(403, {}, b'{"detail":"event submission rejected"}')])

    with pytest.raises(FinalError) as caught:
        CHANNEL.send(make_notification(), _target(sentry.dsn()), timeout_s=5)

    assert caught.value.status_code == 403


def test_an_unreachable_sentry_is_retryable(make_notification):
    dsn = f"http://publickey@127.0.0.1:{free_port()}/1"

    with pytest.raises(RetryableError, match="cannot reach Sentry"):
        CHANNEL.send(make_notification(), _target(dsn), timeout_s=5)


def test_a_sentry_slower_than_the_timeout_is_retryable(start_sentry_double, make_notification):
    sentry = start_sentry_double(delay_s=5)

    with pytest.raises(RetryableError):
        CHANNEL.send(make_notification(), _target(sentry.dsn()), timeout_s=0.3)


def test_an_envelope_parses_into_its_items():
    data = b'{"event_id":"a"}\n{"type":"event","length":7}\n{"x":1}\n{"type":"attachment"}\nraw\n'

    header, items = parse_envelope(data)

    assert header == {"event_id": "a"}
    assert [(item.headers["type"], item.payload) for item in items] == [
        ("event", b'{"x":1}'),
        ("attachment", b"raw"),
    ]


def test_validate_accepts_a_dsn_and_refuses_anything_else():
    assert CHANNEL.validate({"dsn": "https://key@o1.ingest.sentry.io/42"}) == {
        "dsn": "https://key@o1.ingest.sentry.io/42"
    }
    with pytest.raises(ValueError):
        CHANNEL.validate({"dsn": "not a dsn"})
    with pytest.raises(ValueError):
        CHANNEL.validate({})
