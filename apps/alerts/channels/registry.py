"""Every channel kind, by name; a kind's module is imported when the kind is first used.

PyGithub and sentry-sdk cost a web worker ~10 MB between them: a process that never sends
to GitHub or Sentry (every ingest worker) never loads them.
"""

from functools import cache

from django.utils.module_loading import import_string

from apps.alerts.channels.base import Channel

_CLASSES = {
    "webhook": "apps.alerts.channels.webhook.WebhookChannel",
    "slack": "apps.alerts.channels.slack.SlackChannel",
    "email": "apps.alerts.channels.email.EmailChannel",
    "github": "apps.alerts.channels.github.GitHubChannel",
    "sentry": "apps.alerts.channels.sentry.SentryChannel",
}
KINDS = tuple(_CLASSES)


@cache
def channel_for(kind: str) -> Channel:
    """Return the channel for a kind, or raise ValueError naming the known kinds."""
    try:
        path = _CLASSES[kind]
    except KeyError:
        known = ", ".join(KINDS)
        raise ValueError(f"unknown channel kind {kind!r}: expected one of {known}") from None
    return import_string(path)()
