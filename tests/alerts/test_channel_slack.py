import pytest

from apps.alerts.channels.base import FinalError, RetryableError, Target
from apps.alerts.channels.slack import RESOLVED_COLOUR, SEVERITY_COLOURS, SlackChannel
from tests.alerts.servers import free_port

CHANNEL = SlackChannel()


def _target(url: str) -> Target:
    return Target(name="ops-slack", kind="slack", config={}, secrets={"url": url})


def test_it_posts_a_message_with_summary_labels_and_links(start_http_server, make_notification):
    server = start_http_server([(200, {}, b"ok")])

    result = CHANNEL.send(make_notification("firing"), _target(server.url + "/T/B/X"), timeout_s=5)

    [request] = server.requests
    message = request.json()
    [attachment] = message["attachments"]
    fields = {field["title"]: field["value"] for field in attachment["fields"]}
    assert (result.status_code, result.detail) == (200, "ok")
    assert request.path == "/T/B/X"
    assert message["text"] == "*FIRING* CPU above 90% on a"
    assert attachment["title"] == "CPU above 90% on a"
    assert attachment["title_link"] == "https://aivmon.example/alerts/7"
    assert "<https://runbooks.example/cpu|Runbook>" in attachment["text"]
    assert fields == {
        "Severity": "high",
        "Rule": "cpu hot",
        "Value": "97.5",
        "host": "a",
        "service": "api",
    }


@pytest.mark.parametrize("severity", ["critical", "high", "medium", "low", "info"])
def test_the_attachment_colour_follows_the_severity(
    severity, start_http_server, make_notification, make_alert
):
    server = start_http_server()

    notification = make_notification("firing", make_alert(severity=severity))
    CHANNEL.send(notification, _target(server.url), timeout_s=5)

    assert server.requests[0].json()["attachments"][0]["color"] == SEVERITY_COLOURS[severity]


def test_a_resolved_alert_is_green(start_http_server, make_notification):
    server = start_http_server()

    CHANNEL.send(make_notification("resolved"), _target(server.url), timeout_s=5)

    assert server.requests[0].json()["attachments"][0]["color"] == RESOLVED_COLOUR


def test_it_escapes_slack_control_characters_in_labels(
    start_http_server, make_notification, make_alert
):
    server = start_http_server()

    notification = make_notification("firing", make_alert(labels={"path": "<a&b>"}))
    CHANNEL.send(notification, _target(server.url), timeout_s=5)

    fields = server.requests[0].json()["attachments"][0]["fields"]
    assert {"title": "path", "value": "&lt;a&amp;b&gt;", "short": True} in fields


def test_a_group_gets_one_attachment_per_alert(start_http_server, make_notification, make_alert):
    server = start_http_server()
    alerts = [make_alert(id=n, summary=f"disk full on {n}") for n in range(3)]

    CHANNEL.send(make_notification("firing", *alerts), _target(server.url), timeout_s=5)

    message = server.requests[0].json()
    assert message["text"] == "*FIRING* 3 alerts"
    assert [a["title"] for a in message["attachments"]] == [a.summary for a in alerts]


def test_slack_errors_map_like_the_webhooks(start_http_server, make_notification):
    server = start_http_server(
        [(500, {}, b"rollup_error"), (429, {"Retry-After": "3"}, b""), (404, {}, b"no_service")]
    )
    target = _target(server.url)

    with pytest.raises(RetryableError):
        CHANNEL.send(make_notification(), target, timeout_s=5)
    with pytest.raises(RetryableError) as limited:
        CHANNEL.send(make_notification(), target, timeout_s=5)
    with pytest.raises(FinalError, match="no_service"):
        CHANNEL.send(make_notification(), target, timeout_s=5)
    assert limited.value.retry_after_s == 3


def test_an_error_message_names_the_host_and_never_the_secret_url(make_notification):
    url = f"http://127.0.0.1:{free_port()}/services/T000/B000/SECRETPATH"

    with pytest.raises(RetryableError) as caught:
        CHANNEL.send(make_notification(), _target(url), timeout_s=5)

    assert "127.0.0.1" in str(caught.value)
    assert "SECRETPATH" not in str(caught.value)


def test_the_url_is_the_secret_field():
    assert CHANNEL.secret_fields == ("url",)
    assert CHANNEL.validate({"url": "https://hooks.slack.com/services/T/B/X"}) == {
        "url": "https://hooks.slack.com/services/T/B/X"
    }
    with pytest.raises(ValueError):
        CHANNEL.validate({"url": "hooks.slack.com/services/T/B/X"})
