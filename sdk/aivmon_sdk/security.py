"""Security events, batched in a bounded buffer and posted to aivmon's native endpoint by a daemon
thread (through the spooling session, so an outage spools them like telemetry)."""

import collections
import json
import logging
import threading
import time
from typing import Any

import requests

logger = logging.getLogger("aivmon_sdk")

SECURITY_PATH = "/api/v1/ingest/security-events"


class SecurityEventBuffer:
    """Collect events; post them in batches every `interval_s`, or sooner when a batch is full."""

    def __init__(
        self,
        *,
        url: str,
        session: requests.Session,
        service: str,
        batch_size: int = 200,
        max_buffered: int = 10_000,
        interval_s: float = 1.0,
        timeout_s: float = 5.0,
    ) -> None:
        self.url, self.service = url, service
        self.batch_size, self.interval_s, self.timeout_s = batch_size, interval_s, timeout_s
        self.dropped = 0  # events pushed out of a full buffer
        self.sent = 0
        self._session = session
        self._events: collections.deque[dict[str, Any]] = collections.deque(maxlen=max_buffered)
        self._start()

    def _start(self) -> None:
        self._lock = threading.Lock()  # one sender at a time, so batches leave in order
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="aivmon-sdk-security", daemon=True)
        self._thread.start()

    def restart_after_fork(self) -> None:
        """In a forked child: drop the parent's buffered events (the parent sends them)."""
        self._events.clear()
        self._start()

    def add(self, event: dict[str, Any]) -> None:
        """Queue one event; never blocks. A full buffer drops its oldest event."""
        if len(self._events) == self._events.maxlen:
            self.dropped += 1
        self._events.append(event)
        if len(self._events) >= self.batch_size:
            self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.interval_s)
            self._wake.clear()
            self.send_all()

    def send_all(self) -> None:
        """Post everything buffered, a batch at a time."""
        with self._lock:
            while self._events:
                batch: list[dict[str, Any]] = []
                while self._events and len(batch) < self.batch_size:
                    batch.append(self._events.popleft())
                self._post(batch)

    def _post(self, batch: list[dict[str, Any]]) -> None:
        body = json.dumps({"service": self.service, "events": batch}, default=str).encode()
        try:
            response = self._session.post(
                self.url,
                data=body,
                headers={"Content-Type": "application/json"},
                timeout=self.timeout_s,
            )
        except requests.RequestException as exc:  # the spooling session only raises on misuse
            logger.warning(
                "aivmon_sdk.security.lost", extra={"events": len(batch), "error": str(exc)}
            )
            return
        if response.status_code >= 400:
            logger.warning(
                "aivmon_sdk.security.refused",
                extra={"status": response.status_code, "body": response.text[:500]},
            )
        else:
            self.sent += len(batch)

    def shutdown(self, timeout_s: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout_s)
        self.send_all()


def security_event_body(
    event_type: str,
    *,
    user_id: str | None = None,
    source_ip: str | None = None,
    endpoint: str | None = None,
    method: str | None = None,
    params: dict[str, Any] | None = None,
    user_agent: str | None = None,
    details: dict[str, Any] | None = None,
    timestamp: float | None = None,
) -> dict[str, Any]:
    """Return one event as the native endpoint takes it (absent fields left out)."""
    event: dict[str, Any] = {"event_type": event_type, "timestamp": timestamp or time.time()}
    fields = {
        "user_id": user_id,
        "source_ip": source_ip,
        "endpoint": endpoint,
        "method": method,
        "params": params,
        "user_agent": user_agent,
        "details": details,
    }
    event.update({k: v for k, v in fields.items() if v not in (None, "", {})})
    return event
