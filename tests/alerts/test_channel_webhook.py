import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from apps.alerts.channels.base import FinalError, RetryableError, Target
from apps.alerts.channels.http import retry_after_s
from apps.alerts.channels.webhook import WebhookChannel, signature, verify
from tests.alerts.servers import free_port

CHANNEL = WebhookChannel()


def _target(url: str, **config) -> Target:
    secrets = {"secret": config.pop("secret")} if "secret" in config else {}
    return Target(name="ops-hook", kind="webhook", config={"url": url, **config}, secrets=secrets)


def test_it_posts_the_alert_as_json_in_the_documented_shape(start_http_server, make_notification):
    server = start_http_server()

    result = CHANNEL.send(make_notification("firing"), _target(server.url + "/hook"), timeout_s=5)

    [request] = server.requests
    assert result.status_code == 200
    assert (request.method, request.path) == ("POST", "/hook")
    assert request.headers["content-type"] == "application/json"
    assert request.json() == {
        "event": "firing",
        "alert": {
            "id": 7,
            "rule": "cpu hot",
            "fingerprint": "3f2a9c0d1e",
            "state": "firing",
            "severity": "high",
            "labels": {"host": "a", "service": "api"},
            "value": 97.5,
            "summary": "CPU above 90% on a",
            "starts_at": "2026-03-01T12:00:05.000Z",
            "url": "https://aivmon.example/alerts/7",
        },
    }


def test_it_signs_the_timestamp_and_body_with_the_secret(start_http_server, make_notification):
    server = start_http_server()

    CHANNEL.send(make_notification(), _target(server.url, secret="s3cret"), timeout_s=5)

    [request] = server.requests
    timestamp = request.headers["x-aivmon-timestamp"]
    header = request.headers["x-aivmon-signature"]
    assert header.startswith("sha256=")
    assert verify("s3cret", timestamp, request.body, header)
    assert not verify("other", timestamp, request.body, header)
    assert not verify("s3cret", timestamp, request.body + b" ", header)
    assert not verify("s3cret", timestamp, request.body, "sha256=ü")


def test_it_sends_no_signature_without_a_secret(start_http_server, make_notification):
    server = start_http_server()

    CHANNEL.send(make_notification(), _target(server.url), timeout_s=5)

    assert "x-aivmon-signature" not in server.requests[0].headers
    assert server.requests[0].headers["x-aivmon-timestamp"].isdigit()


def test_the_signature_is_the_hex_hmac_sha256_of_timestamp_dot_body():
    digest = hmac.new(b"key", b"1700000000.{}", hashlib.sha256).hexdigest()

    assert signature("key", "1700000000", b"{}") == f"sha256={digest}"


def test_verify_refuses_an_old_timestamp_when_given_a_tolerance():
    header = signature("key", "1700000000", b"{}")

    assert verify("key", "1700000000", b"{}", header, tolerance_s=300, now=1700000100)
    assert not verify("key", "1700000000", b"{}", header, tolerance_s=300, now=1700000400)


def test_it_adds_the_configured_headers(start_http_server, make_notification):
    server = start_http_server()

    CHANNEL.send(make_notification(), _target(server.url, headers={"X-Team": "ops"}), timeout_s=5)

    assert server.requests[0].headers["x-team"] == "ops"


def test_a_group_sends_every_alert_in_an_alerts_list(
    start_http_server, make_notification, make_alert
):
    server = start_http_server()
    alerts = [make_alert(id=n, fingerprint=f"fp{n}") for n in (1, 2, 3)]

    CHANNEL.send(make_notification("firing", *alerts), _target(server.url), timeout_s=5)

    body = server.requests[0].json()
    assert body["alert"]["id"] == 1
    assert [alert["fingerprint"] for alert in body["alerts"]] == ["fp1", "fp2", "fp3"]


def test_a_value_that_is_not_finite_is_sent_as_null(
    start_http_server, make_notification, make_alert
):
    server = start_http_server()

    notification = make_notification("firing", make_alert(value=float("nan")))
    CHANNEL.send(notification, _target(server.url), timeout_s=5)

    assert server.requests[0].json()["alert"]["value"] is None


def test_a_server_error_is_retryable(start_http_server, make_notification):
    server = start_http_server([(500, {}, b"boom")])

    with pytest.raises(RetryableError) as caught:
        CHANNEL.send(make_notification(), _target(server.url), timeout_s=5)

    assert caught.value.status_code == 500
    assert "boom" in str(caught.value)


def test_too_many_requests_is_retryable_after_the_servers_delay(
    start_http_server, make_notification
):
    server = start_http_server([(429, {"Retry-After": "7"}, b"")])

    with pytest.raises(RetryableError) as caught:
        CHANNEL.send(make_notification(), _target(server.url), timeout_s=5)

    assert caught.value.status_code == 429
    assert caught.value.retry_after_s == 7


def test_retry_after_may_be_an_http_date():
    now = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
    header = format_datetime(now + timedelta(seconds=30), usegmt=True)

    assert retry_after_s(header, now=now.timestamp()) == 30
    assert retry_after_s("soon") is None
    assert retry_after_s(None) is None


def test_a_client_error_is_final(start_http_server, make_notification):
    server = start_http_server([(400, {}, b"bad payload")])

    with pytest.raises(FinalError) as caught:
        CHANNEL.send(make_notification(), _target(server.url), timeout_s=5)

    assert caught.value.status_code == 400


def test_a_redirect_is_final_and_not_followed(start_http_server, make_notification):
    server = start_http_server([(302, {"Location": "http://elsewhere.example/x"}, b"")])

    with pytest.raises(FinalError, match="elsewhere.example"):
        CHANNEL.send(make_notification(), _target(server.url), timeout_s=5)

    assert len(server.requests) == 1


def test_a_refused_connection_is_retryable(make_notification):
    url = f"http://127.0.0.1:{free_port()}/hook"

    with pytest.raises(RetryableError, match="cannot reach 127.0.0.1"):
        CHANNEL.send(make_notification(), _target(url), timeout_s=5)


def test_a_server_slower_than_the_timeout_is_retryable(start_http_server, make_notification):
    server = start_http_server(delay_s=5)

    with pytest.raises(RetryableError, match="did not answer"):
        CHANNEL.send(make_notification(), _target(server.url), timeout_s=0.2)


def test_validate_accepts_a_url_secret_and_headers():
    config = {"url": "https://hooks.example/x", "secret": "s", "headers": {"X-Team": "ops"}}

    assert CHANNEL.validate(config) == config


@pytest.mark.parametrize(
    "config",
    [
        {},
        {"url": "ftp://example.com/x"},
        {"url": "example.com/x"},
        {"url": "https://example.com", "colour": "red"},
        {"url": "https://example.com", "secret": 5},
        {"url": "https://example.com", "headers": {"X-Aivmon-Signature": "forged"}},
        {"url": "https://example.com", "headers": {"X-A": "one\r\nX-B: two"}},
        {"url": "https://example.com", "headers": {"bad name": "x"}},
    ],
)
def test_validate_refuses_a_bad_config(config):
    with pytest.raises(ValueError):
        CHANNEL.validate(config)
