"""Every channel kind, by name."""

from apps.alerts.channels.base import Channel
from apps.alerts.channels.email import EmailChannel
from apps.alerts.channels.github import GitHubChannel
from apps.alerts.channels.sentry import SentryChannel
from apps.alerts.channels.slack import SlackChannel
from apps.alerts.channels.webhook import WebhookChannel

CHANNELS: dict[str, Channel] = {
    channel.kind: channel
    for channel in (
        WebhookChannel(),
        SlackChannel(),
        EmailChannel(),
        GitHubChannel(),
        SentryChannel(),
    )
}
KINDS = tuple(CHANNELS)


def channel_for(kind: str) -> Channel:
    """Return the channel for a kind, or raise ValueError naming the known kinds."""
    try:
        return CHANNELS[kind]
    except KeyError:
        known = ", ".join(KINDS)
        raise ValueError(f"unknown channel kind {kind!r}: expected one of {known}") from None
