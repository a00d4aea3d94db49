"""Helpers for the security tests: a valid event, and posting a batch of them."""

import time
from typing import Any

URL = "/api/v1/ingest/security-events"


def event(**fields: Any) -> dict[str, Any]:
    """Return a plain request event, now, from 203.0.113.7, with `fields` on top."""
    return {
        "timestamp": time.time(),
        "event_type": "request",
        "user_id": "alice",
        "source_ip": "203.0.113.7",
        "endpoint": "/orders",
        "method": "GET",
        "params": {},
        "details": {},
        **fields,
    }


def post_events(client, events: list[dict[str, Any]] | Any, *, service: str = "api"):
    """POST a batch (or any body given as-is when `events` is not a list)."""
    body = {"service": service, "events": events} if isinstance(events, list) else events
    return client.post(URL, body, content_type="application/json")


def failures(count: int, *, ip: str = "203.0.113.7", user: str = "alice", start: float = 0.0):
    """Return `count` failed logins one second apart, from `ip` against `user`."""
    begin = start or time.time() - count
    return [
        event(
            event_type="auth_failure",
            source_ip=ip,
            user_id=user,
            endpoint="/login",
            method="POST",
            timestamp=begin + i,
        )
        for i in range(count)
    ]
