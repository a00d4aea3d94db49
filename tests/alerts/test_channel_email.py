import pytest

from apps.accounts.selectors import users_with_role
from apps.alerts.channels.base import FinalError, RetryableError, Target
from apps.alerts.channels.email import EmailChannel
from tests.alerts.servers import free_port
from tests.factories import UserFactory

CHANNEL = EmailChannel()


def _target(**config) -> Target:
    return Target(name="ops-mail", kind="email", config=config)


def test_it_sends_a_text_and_an_html_part_to_the_listed_addresses(smtp_server, make_notification):
    result = CHANNEL.send(
        make_notification("firing"), _target(to=["a@example.com", "b@example.com"]), timeout_s=5
    )

    [mail] = smtp_server.mails
    text, html = mail.part("text/plain"), mail.part("text/html")
    assert mail.rcpt_tos == ["a@example.com", "b@example.com"]
    assert mail.message["Subject"] == "[aivmon] FIRING high: CPU above 90% on a"
    assert "CPU above 90% on a" in text
    assert "host: a" in text
    assert "Since:    2026-03-01 12:00:05 UTC" in text
    assert "Runbook: https://runbooks.example/cpu" in text
    assert '<a href="https://aivmon.example/alerts/7">' in html
    assert '<a href="https://runbooks.example/cpu">Runbook</a>' in html
    assert result.detail == "sent to 2 recipient(s)"


def test_the_html_part_escapes_labels_and_the_text_part_keeps_them(
    smtp_server, make_notification, make_alert
):
    alert = make_alert(labels={"path": "<script>alert(1)</script>"}, summary="5xx on <b>/</b>")

    CHANNEL.send(make_notification("firing", alert), _target(to=["a@example.com"]), timeout_s=5)

    [mail] = smtp_server.mails
    html = mail.part("text/html")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>" not in html
    assert "5xx on &lt;b&gt;/&lt;/b&gt;" in html
    assert "path: <script>alert(1)</script>" in mail.part("text/plain")
    assert mail.message["Subject"] == "[aivmon] FIRING high: 5xx on <b>/</b>"


def test_a_runbook_link_that_is_not_http_is_left_out(smtp_server, make_notification, make_alert):
    alert = make_alert(runbook_url="javascript:alert(1)")

    CHANNEL.send(make_notification("firing", alert), _target(to=["a@example.com"]), timeout_s=5)

    assert "javascript:" not in smtp_server.mails[0].part("text/html")


def test_a_group_lists_every_alert_and_counts_them_in_the_subject(
    smtp_server, make_notification, make_alert
):
    alerts = [make_alert(id=n, summary=f"disk full on db{n}") for n in range(3)]

    CHANNEL.send(make_notification("firing", *alerts), _target(to=["a@example.com"]), timeout_s=5)

    [mail] = smtp_server.mails
    assert mail.message["Subject"] == "[aivmon] FIRING high: disk full on db0 (+2 more)"
    assert all(alert.summary in mail.part("text/html") for alert in alerts)


def test_a_role_resolves_to_its_active_users_with_an_address(db, smtp_server, make_notification):
    UserFactory(username="op1", role="operator")
    UserFactory(username="op2", role="operator")
    UserFactory(username="op-gone", role="operator", is_active=False)
    UserFactory(username="op-no-mail", role="operator", email="")
    UserFactory(username="viewer1", role="viewer")

    CHANNEL.send(make_notification(), _target(role="operator"), timeout_s=5)

    assert smtp_server.mails[0].rcpt_tos == ["op1@example.com", "op2@example.com"]


def test_the_admin_role_includes_superusers(db):
    UserFactory(username="ada", role="admin")
    UserFactory(username="root", is_superuser=True)
    UserFactory(username="otto", role="operator")

    emails = list(users_with_role(role="admin").values_list("email", flat=True))

    assert emails == ["ada@example.com", "root@example.com"]


def test_a_role_without_recipients_is_final(db, smtp_server, make_notification):
    with pytest.raises(FinalError, match="no active admin"):
        CHANNEL.send(make_notification(), _target(role="admin"), timeout_s=5)

    assert smtp_server.mails == []


def test_a_permanent_refusal_of_the_recipient_is_final(start_smtp_server, make_notification):
    server = start_smtp_server(rcpt_reply="550 5.1.1 no such user")

    with pytest.raises(FinalError) as caught:
        CHANNEL.send(make_notification(), _target(to=["nobody@example.com"]), timeout_s=5)

    assert caught.value.status_code == 550
    assert server.mails == []


def test_a_temporary_refusal_of_the_recipient_is_retryable(start_smtp_server, make_notification):
    start_smtp_server(rcpt_reply="451 4.3.0 try again later")

    with pytest.raises(RetryableError) as caught:
        CHANNEL.send(make_notification(), _target(to=["a@example.com"]), timeout_s=5)

    assert caught.value.status_code == 451


def test_a_permanent_refusal_of_the_message_is_final(start_smtp_server, make_notification):
    start_smtp_server(data_reply="554 5.7.1 message rejected as spam")

    with pytest.raises(FinalError, match="554"):
        CHANNEL.send(make_notification(), _target(to=["a@example.com"]), timeout_s=5)


def test_a_temporary_refusal_of_the_message_is_retryable(start_smtp_server, make_notification):
    start_smtp_server(data_reply="452 4.3.1 insufficient storage")

    with pytest.raises(RetryableError, match="452"):
        CHANNEL.send(make_notification(), _target(to=["a@example.com"]), timeout_s=5)


def test_an_smtp_server_that_is_down_is_retryable(settings, make_notification):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = free_port()

    with pytest.raises(RetryableError, match="SMTP connection failed"):
        CHANNEL.send(make_notification(), _target(to=["a@example.com"]), timeout_s=5)


def test_validate_takes_a_list_of_addresses_or_a_role():
    assert CHANNEL.validate({"to": ["a@example.com", "a@example.com", "b@example.com"]}) == {
        "to": ["a@example.com", "b@example.com"]
    }
    assert CHANNEL.validate({"role": "operator"}) == {"role": "operator"}


@pytest.mark.parametrize(
    "config",
    [
        {},
        {"to": []},
        {"to": "a@example.com"},
        {"to": ["not an address"]},
        {"to": [5]},
        {"role": "root"},
        {"to": ["a@example.com"], "role": "admin"},
        {"to": ["a@example.com"], "cc": ["b@example.com"]},
    ],
)
def test_validate_refuses_a_bad_config(config):
    with pytest.raises(ValueError):
        CHANNEL.validate(config)
