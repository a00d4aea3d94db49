"""Environment access for settings: django-environ plus the generated secret file."""

import os
import secrets
import tempfile
from collections.abc import Callable
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()


def var_dir() -> Path:
    """Return the directory for local state (database, Redis data, secret key), creating it."""
    path = Path(env("AIVMON_VAR_DIR", default=str(BASE_DIR / "var")))
    path.mkdir(parents=True, exist_ok=True)
    return path


def secret_from_env_or_file(
    name: str, path: Path, generate: Callable[[], str] = lambda: secrets.token_urlsafe(64)
) -> str:
    """Read a secret from NAME, NAME_FILE, or a generated mode-0600 file at `path`."""
    if env.str(name, default=""):
        return env.str(name)
    file_name = env.str(f"{name}_FILE", default="")
    if file_name:
        return _read_secret_file(Path(file_name), name)
    if not path.exists():
        _write_secret_file(path, generate())
    return _read_secret_file(path, name)


def _write_secret_file(path: Path, value: str) -> None:
    # Write a private temp file, then link it into place: concurrent starters never see
    # a half-written secret, and the first one wins.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".secret-")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(value)
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        os.unlink(tmp)


def _read_secret_file(path: Path, name: str) -> str:
    try:
        value = path.read_text().strip()
    except OSError as exc:
        raise ImproperlyConfigured(f"{name}: cannot read {path}: {exc}") from exc
    if not value:
        raise ImproperlyConfigured(f"{name}: {path} is empty")
    return value
