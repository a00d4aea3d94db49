"""Slack channel: an incoming-webhook message, one coloured attachment per alert.

Config: `{"url"}`, the incoming-webhook URL, which is itself the credential (stored encrypted).
"""

import json
from collections.abc import Mapping
from typing import Any

from apps.alerts.channels.base import AlertView, Notification, SendResult, Target
from apps.alerts.channels.http import post, validate_http_url

SEVERITY_COLOURS = {
    "critical": "#b0001e",
    "high": "#e8590c",
    "medium": "#f2c744",
    "low": "#439fe0",
    "info": "#8a8f98",
}
RESOLVED_COLOUR = "#2eb67d"
# Slack renders at most 100 attachments; a storm is summarised well before that.
MAX_ATTACHMENTS = 20


def escape(text: str) -> str:
    """Escape the three characters Slack's mrkdwn treats as control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def colour(alert: AlertView, event: str) -> str:
    if event == "resolved":
        return RESOLVED_COLOUR
    return SEVERITY_COLOURS.get(alert.severity, SEVERITY_COLOURS["info"])


def attachment(alert: AlertView, event: str) -> dict[str, Any]:
    """Return the attachment for one alert: summary, labels, links."""
    links = [f"<{escape(alert.url)}|Open in aivmon>"]
    if alert.runbook_url:
        links.append(f"<{escape(alert.runbook_url)}|Runbook>")
    text = "\n".join(part for part in (escape(alert.description), " · ".join(links)) if part)
    fields = [
        {"title": "Severity", "value": alert.severity, "short": True},
        {"title": "Rule", "value": escape(alert.rule), "short": True},
    ]
    if alert.value is not None:
        fields.append({"title": "Value", "value": f"{alert.value:g}", "short": True})
    fields.extend(
        {"title": escape(name), "value": escape(value), "short": True}
        for name, value in sorted(alert.labels.items())
    )
    return {
        "color": colour(alert, event),
        "fallback": f"[{event}] {alert.summary}",
        "title": escape(alert.summary),
        "title_link": alert.url,
        "text": text,
        "fields": fields,
        "ts": int(alert.starts_at.timestamp()),
    }


def message(notification: Notification) -> dict[str, Any]:
    """Return the Slack message for a notification."""
    alerts = notification.alerts
    headline = f"*{notification.event.upper()}* {escape(notification.alert.summary)}"
    if len(alerts) > 1:
        headline = f"*{notification.event.upper()}* {len(alerts)} alerts"
    shown = [attachment(alert, notification.event) for alert in alerts[:MAX_ATTACHMENTS]]
    if len(alerts) > MAX_ATTACHMENTS:
        shown.append({"text": f"… and {len(alerts) - MAX_ATTACHMENTS} more in aivmon"})
    return {"text": headline, "attachments": shown}


class SlackChannel:
    kind = "slack"
    secret_fields: tuple[str, ...] = ("url",)

    def validate(self, config: Mapping[str, Any]) -> dict[str, Any]:
        unknown = set(config) - {"url"}
        if unknown:
            raise ValueError(f"unknown slack settings: {', '.join(sorted(unknown))}")
        return {"url": validate_http_url(config.get("url"), field="url")}

    def send(self, notification: Notification, target: Target, *, timeout_s: float) -> SendResult:
        url = {**target.config, **target.secrets}["url"]
        body = json.dumps(message(notification)).encode()
        headers = {"Content-Type": "application/json"}
        return post(url, body, headers=headers, timeout_s=timeout_s)
