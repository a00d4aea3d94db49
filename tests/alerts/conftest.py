"""Channel test setup: alerts as channels see them, and the servers of tests/alerts/servers.py."""

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import UTC, datetime
from typing import Any

import pytest

from apps.alerts.channels.base import AlertView, Notification
from tests.alerts.servers import GitHubDouble, RecordingHTTPServer, SentryDouble, SMTPRecorder


def _alert_view(**overrides: Any) -> AlertView:
    fields: dict[str, Any] = {
        "id": 7,
        "rule": "cpu hot",
        "fingerprint": "3f2a9c0d1e",
        "state": "firing",
        "severity": "high",
        "labels": {"host": "a", "service": "api"},
        "value": 97.5,
        "summary": "CPU above 90% on a",
        "starts_at": datetime(2026, 3, 1, 12, 0, 5, tzinfo=UTC),
        "url": "https://aivmon.example/alerts/7",
        "description": "avg cpu_percent over 60 s is 97.5",
        "runbook_url": "https://runbooks.example/cpu",
    }
    fields.update(overrides)
    return AlertView(**fields)


@pytest.fixture
def make_alert() -> Callable[..., AlertView]:
    """Build an AlertView; keyword arguments override the defaults (a firing, high CPU alert)."""
    return _alert_view


@pytest.fixture
def make_notification() -> Callable[..., Notification]:
    """Build a Notification of `event` about the given alerts (one default alert if none)."""

    def build(event: str = "firing", *alerts: AlertView) -> Notification:
        return Notification(event=event, alerts=alerts or (_alert_view(),))

    return build


@pytest.fixture
def start_http_server() -> Iterator[Callable[..., RecordingHTTPServer]]:
    """Start RecordingHTTPServers (same arguments); each stops at the end of the test."""
    with ExitStack() as stack:
        yield lambda *args, **kwargs: stack.enter_context(RecordingHTTPServer(*args, **kwargs))


@pytest.fixture
def start_smtp_server(settings) -> Iterator[Callable[..., SMTPRecorder]]:
    """Start an aiosmtpd server (same arguments as SMTPRecorder) and point Django's SMTP at it."""
    with ExitStack() as stack:

        def start(**replies: str) -> SMTPRecorder:
            server = stack.enter_context(SMTPRecorder(**replies))
            settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
            settings.EMAIL_HOST = server.host
            settings.EMAIL_PORT = server.port
            settings.EMAIL_USE_TLS = False
            settings.EMAIL_USE_SSL = False
            settings.EMAIL_HOST_USER = ""
            settings.EMAIL_HOST_PASSWORD = ""
            return server

        yield start


@pytest.fixture
def smtp_server(start_smtp_server) -> SMTPRecorder:
    return start_smtp_server()


@pytest.fixture
def github_double() -> Iterator[GitHubDouble]:
    with GitHubDouble() as double:
        yield double


@pytest.fixture
def start_sentry_double() -> Iterator[Callable[..., SentryDouble]]:
    """Start SentryDoubles (same arguments); each stops at the end of the test."""
    with ExitStack() as stack:
        yield lambda *args, **kwargs: stack.enter_context(SentryDouble(*args, **kwargs))
