"""Real aivmon processes (Celery worker and beat, gunicorn) started by tests on the test
Redis and the test database, stopped when the test ends."""

import http.client
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 15.0
OUTPUT_TAIL_CHARS = 4000


def database_url_for_current_test_db() -> str:
    """Return a DATABASE_URL naming the database this test runs on (the test database)."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{Path(db['NAME']).resolve()}"  # absolute path: sqlite:////abs/path
    if connection.vendor == "postgresql":
        credentials = quote(db["USER"], safe="")
        if db.get("PASSWORD"):
            credentials += ":" + quote(db["PASSWORD"], safe="")
        host = quote(db.get("HOST") or "localhost", safe="")
        port = f":{db['PORT']}" if db.get("PORT") else ""
        return f"postgres://{credentials}@{host}{port}/{quote(db['NAME'], safe='')}"
    raise AssertionError(f"no DATABASE_URL form for {db['ENGINE']}")


def subprocess_env() -> dict[str, str]:
    """Environment for an aivmon process: test settings, this test's Redis and database."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "aivmon.settings.test",
        "REDIS_URL": settings.REDIS_URL,
        "DATABASE_URL": database_url_for_current_test_db(),
        "PYTHONUNBUFFERED": "1",
    }


class ManagedProcess:
    """A running subprocess (worker, beat, web server) whose stdout and stderr go to a log file."""

    def __init__(self, name: str, argv: list[str], log_path: Path) -> None:
        self.name = name
        self.log_path = log_path
        self.started_at = time.time()
        self._log = log_path.open("wb")
        self.process = subprocess.Popen(
            argv,
            cwd=settings.BASE_DIR,
            env=subprocess_env(),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def output_tail(self) -> str:
        return f"--- {self.name} output (tail) ---\n{self.output()[-OUTPUT_TAIL_CHARS:]}"

    def stop(self) -> None:
        """SIGTERM (warm shutdown), wait; SIGKILL if it does not exit in time."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=STOP_TIMEOUT_S)
        self._log.close()


def wait_for(
    condition: Callable[[], object], *, what: str, processes: list[ManagedProcess]
) -> object:
    """Poll `condition` until it returns a truthy value; fail with the processes' output."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        exited = [p for p in processes if p.process.poll() is not None]
        if exited:
            pytest.fail(
                f"{', '.join(p.name for p in exited)} exited (code "
                f"{exited[0].process.returncode}) while waiting for {what}\n"
                + "\n".join(p.output_tail() for p in processes)
            )
        time.sleep(0.1)
    pytest.fail(
        f"timed out after {START_TIMEOUT_S:.0f}s waiting for {what}\n"
        + "\n".join(p.output_tail() for p in processes)
    )


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def answers_healthz(port: int) -> bool:
    """True when an aivmon server on 127.0.0.1:port answers /healthz with 200."""
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        connection.request("GET", "/healthz")
        return connection.getresponse().status == 200
    except OSError:
        return False
