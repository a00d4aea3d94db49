"""Sending to aivmon without losing anything when it is away.

`SpoolingSession` is the `requests.Session` handed to the stock OTLP/HTTP exporters (their
public `session=` argument) and used for security events. It makes one attempt with a short
timeout; when aivmon is unreachable or answers 5xx or 429, the encoded request goes to the
spool and the exporter is told it succeeded, so the exporter's own retry loop never holds its
thread (its queue would fill up and drop). While the spool holds anything, new requests join
its tail, which keeps the order. `Replayer` drains the spool from a daemon thread with
exponential backoff; one process at a time replays a shared spool file (an flock).
"""

import fcntl
import logging
import random
import threading
from collections.abc import Callable, Mapping
from typing import Any

import requests

from aivmon_sdk.spool import Spool, SpooledRequest

logger = logging.getLogger("aivmon_sdk")

RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


def is_retryable(status: int) -> bool:
    return status in RETRYABLE_STATUSES or status >= 500


def _spooled_response(url: str) -> requests.Response:
    response = requests.Response()
    response.status_code = 200
    response.reason = "Spooled"
    response.url = url
    response._content = b""
    return response


class SpoolingSession(requests.Session):
    """A requests session whose POSTs that aivmon could not take are written to the spool."""

    def __init__(
        self,
        spool: Spool,
        *,
        auth_headers: Mapping[str, str],
        timeout_s: float,
        on_spooled: Callable[[int], None],
    ) -> None:
        super().__init__()
        self.spool = spool
        self.headers.update(auth_headers)
        self.timeout_s = timeout_s
        self._on_spooled = on_spooled  # called with the rows the bound dropped

    def request(  # type: ignore[override]
        self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any
    ) -> requests.Response:
        if method not in ("POST", b"POST"):
            return super().request(method, url, *args, **kwargs)
        url = url.decode() if isinstance(url, bytes) else url
        headers = {k.lower(): v for k, v in (kwargs.get("headers") or {}).items()}
        if len(self.spool):
            return self._spool(url, kwargs.get("data") or b"", headers)
        timeout = kwargs.get("timeout")
        kwargs["timeout"] = min(timeout, self.timeout_s) if timeout else self.timeout_s
        try:
            response = super().request(method, url, *args, **kwargs)
        except requests.RequestException as exc:
            logger.info("aivmon_sdk.export.spooled", extra={"url": url, "error": str(exc)})
            return self._spool(url, kwargs.get("data") or b"", headers)
        if is_retryable(response.status_code):
            logger.info(
                "aivmon_sdk.export.spooled", extra={"url": url, "status": response.status_code}
            )
            return self._spool(url, kwargs.get("data") or b"", headers)
        return response

    def _spool(self, url: str, body: bytes | str, headers: Mapping[str, str]) -> requests.Response:
        dropped = self.spool.put(
            url=url,
            body=body.encode() if isinstance(body, str) else body,
            content_type=headers.get("content-type", "application/x-protobuf"),
            content_encoding=headers.get("content-encoding", ""),
        )
        self._on_spooled(dropped)
        return _spooled_response(url)


class Replayer:
    """Send the spool's requests, oldest first, from a daemon thread; back off while refused."""

    def __init__(
        self,
        spool: Spool,
        *,
        auth_headers: Mapping[str, str],
        timeout_s: float = 10.0,
        min_backoff_s: float = 0.5,
        max_backoff_s: float = 30.0,
        idle_poll_s: float = 5.0,
    ) -> None:
        self.spool = spool
        self.timeout_s = timeout_s
        self.min_backoff_s, self.max_backoff_s = min_backoff_s, max_backoff_s
        self.idle_poll_s = idle_poll_s
        self.delivered = 0
        self.refused = 0  # answered 4xx: would never be taken, so dropped
        self._last_ok = False
        self._retry_after_s: float | None = None
        self._auth_headers = dict(auth_headers)
        self._prepare()

    def _prepare(self) -> None:
        self._session = requests.Session()
        self._session.headers.update(self._auth_headers)
        self._wake = threading.Event()
        self._stop = threading.Event()
        # Its own open file description: flock locks are shared by a forked child's copy.
        self._lock_file = open(f"{self.spool.path}.lock", "a+b")  # noqa: SIM115 - lives with us
        self._thread = threading.Thread(target=self._run, name="aivmon-sdk-replay", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def restart_after_fork(self) -> None:
        """In a forked child: the parent's thread did not come along; start a new one."""
        self._prepare()
        self.start()

    def wake(self) -> None:
        self._wake.set()

    def _run(self) -> None:
        backoff_s = self.min_backoff_s
        while not self._stop.is_set():
            if not self._replay_one_holding_lock():
                self._wake.wait(self.idle_poll_s)
                self._wake.clear()
                backoff_s = self.min_backoff_s
                continue
            if self._last_ok:
                backoff_s = self.min_backoff_s
                continue
            delay_s = self._retry_after_s or backoff_s * random.uniform(0.8, 1.2)  # noqa: S311
            self._stop.wait(min(delay_s, self.max_backoff_s))
            backoff_s = min(backoff_s * 2, self.max_backoff_s)

    def _replay_one_holding_lock(self) -> bool:
        """Send the oldest request if this process holds the replay lock; False when idle."""
        try:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._last_ok, self._retry_after_s = False, None
            return True  # another process replays this file: look again after a backoff
        try:
            request = self.spool.peek()
            if request is None:
                return False
            self._last_ok, self._retry_after_s = self.send(request)
            return True
        finally:
            fcntl.flock(self._lock_file, fcntl.LOCK_UN)

    def send(self, request: SpooledRequest) -> tuple[bool, float | None]:
        """POST one spooled request; forget it once answered for good. Return (ok, retry-after)."""
        headers = {"Content-Type": request.content_type}
        if request.content_encoding:
            headers["Content-Encoding"] = request.content_encoding
        try:
            response = self._session.post(
                request.url, data=request.body, headers=headers, timeout=self.timeout_s
            )
        except requests.RequestException:
            return False, None
        if is_retryable(response.status_code):
            return False, _retry_after_s(response)
        if response.status_code >= 400:
            self.refused += 1
            logger.warning(
                "aivmon_sdk.replay.refused",
                extra={"url": request.url, "status": response.status_code},
            )
        else:
            self.delivered += 1
        self.spool.delete(request.id)
        return True, None

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout_s)
        self._session.close()
        self._lock_file.close()


def _retry_after_s(response: requests.Response) -> float | None:
    try:
        return max(float(response.headers.get("Retry-After", "")), 0.0)
    except ValueError:
        return None
