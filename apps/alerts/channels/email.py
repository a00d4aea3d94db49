"""E-mail channel: a text and an HTML message through Django's mail API (settings' EMAIL_*).

Config: `{"to": [addresses]}` or `{"role": "viewer|operator|admin"}` (the role's active users
with an e-mail address, resolved at send time). No secret fields: the SMTP password is a setting.
"""

import smtplib
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.validators import validate_email
from django.template.loader import render_to_string

from apps.accounts.constants import ROLES
from apps.accounts.selectors import users_with_role
from apps.alerts.channels.base import (
    AlertView,
    ChannelError,
    FinalError,
    Notification,
    RetryableError,
    SendResult,
    Target,
)
from apps.alerts.channels.slack import colour

TEMPLATE_DIR = "alerts/email"
MAX_RECIPIENTS = 100


class EmailChannel:
    kind = "email"
    secret_fields: tuple[str, ...] = ()

    def validate(self, config: Mapping[str, Any]) -> dict[str, Any]:
        unknown = set(config) - {"to", "role"}
        if unknown:
            raise ValueError(f"unknown email settings: {', '.join(sorted(unknown))}")
        if ("to" in config) == ("role" in config):
            raise ValueError('give either "to" (a list of addresses) or "role", not both')
        if "role" in config:
            if config["role"] not in ROLES:
                raise ValueError(f"role: must be one of {', '.join(ROLES)}")
            return {"role": config["role"]}
        return {"to": _validate_addresses(config["to"])}

    def send(self, notification: Notification, target: Target, *, timeout_s: float) -> SendResult:
        recipients = recipients_for(target.config)
        message = build_message(notification, recipients)
        try:
            message.connection = get_connection(timeout=timeout_s)
            message.send()
        except (smtplib.SMTPException, OSError) as exc:
            raise smtp_error(exc) from exc
        return SendResult(detail=f"sent to {len(recipients)} recipient(s)")


def recipients_for(config: Mapping[str, Any]) -> list[str]:
    """Return the addresses to send to; a role resolves to its users at send time."""
    if "to" in config:
        return list(config["to"])
    role = config["role"]
    addresses = list(users_with_role(role=role).values_list("email", flat=True))
    if not addresses:
        raise FinalError(f"no active {role} has an e-mail address")
    return addresses


def build_message(notification: Notification, recipients: Sequence[str]) -> EmailMultiAlternatives:
    """Render the subject, text and HTML bodies for a notification."""
    context = {
        "event": notification.event,
        "alert": notification.alert,
        "items": [_item(alert, notification.event) for alert in notification.alerts],
        "count": len(notification.alerts),
        "others": len(notification.alerts) - 1,
    }
    subject = " ".join(render_to_string(f"{TEMPLATE_DIR}/subject.txt", context).split())
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"{TEMPLATE_DIR}/body.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=list(recipients),
    )
    message.attach_alternative(render_to_string(f"{TEMPLATE_DIR}/body.html", context), "text/html")
    return message


def _item(alert: AlertView, event: str) -> dict[str, Any]:
    # Labels as pairs: `labels.items` in a template would look up a label named "items".
    runbook_url = (
        alert.runbook_url if urlsplit(alert.runbook_url).scheme in ("http", "https") else ""
    )
    return {
        "alert": alert,
        "labels": sorted(alert.labels.items()),
        "runbook_url": runbook_url,
        "colour": colour(alert, event),
    }


def smtp_error(exc: BaseException) -> ChannelError:
    """Map an SMTP failure: 4xx replies and lost connections may pass later, 5xx replies not."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        refused = ", ".join(f"{address} ({code})" for address, (code, _) in exc.recipients.items())
        if codes and all(code >= 500 for code in codes):
            return FinalError(f"recipients refused: {refused}", status_code=max(codes))
        return RetryableError(f"recipients deferred: {refused}", status_code=min(codes or [0]))
    if isinstance(exc, smtplib.SMTPResponseException):
        reply = exc.smtp_error
        if isinstance(reply, bytes):
            reply = reply.decode(errors="replace")
        message = f"SMTP server answered {exc.smtp_code} {reply}".strip()
        if exc.smtp_code >= 500:
            return FinalError(message, status_code=exc.smtp_code)
        return RetryableError(message, status_code=exc.smtp_code)
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return FinalError(f"SMTP server does not support what the settings ask: {exc}")
    return RetryableError(f"SMTP connection failed: {type(exc).__name__}: {exc}")


def _validate_addresses(value: object) -> list[str]:
    if not isinstance(value, list) or not value:
        raise ValueError("to: must be a non-empty list of e-mail addresses")
    if len(value) > MAX_RECIPIENTS:
        raise ValueError(f"to: at most {MAX_RECIPIENTS} addresses")
    addresses: list[str] = []
    for address in value:
        try:
            if not isinstance(address, str):
                raise ValidationError("not a string")
            validate_email(address)
        except ValidationError as exc:
            raise ValueError(f"to: {address!r} is not a valid e-mail address") from exc
        if address not in addresses:
            addresses.append(address)
    return addresses
