import stat
import subprocess
import sys

import pytest

from aivmon.env import secret_from_env_or_file


def test_a_generated_secret_is_kept_in_a_private_file(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("SECRET_KEY_FILE", raising=False)
    path = tmp_path / "secret_key"

    first = secret_from_env_or_file("SECRET_KEY", path)
    second = secret_from_env_or_file("SECRET_KEY", path)

    assert first == second and len(first) >= 50
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_the_environment_wins_over_the_file(tmp_path, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "from-the-environment")

    assert secret_from_env_or_file("SECRET_KEY", tmp_path / "unused") == "from-the-environment"
    assert not (tmp_path / "unused").exists()


def _settings_value(name: str, env: dict) -> str:
    code = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='aivmon.settings.base';"
        f"from django.conf import settings; print(repr(settings.{name}))"
    )
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout.strip()


@pytest.mark.parametrize(("debug", "expected"), [(None, "False"), ("1", "True")])
def test_debug_is_off_unless_asked_for(tmp_path, debug, expected):
    env = {"PATH": "/usr/bin:/bin", "AIVMON_VAR_DIR": str(tmp_path), "SECRET_KEY": "x" * 60}
    if debug:
        env["AIVMON_DEBUG"] = debug

    assert _settings_value("DEBUG", env) == expected


def test_sqlite_runs_in_wal_mode_with_immediate_transactions(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "AIVMON_VAR_DIR": str(tmp_path), "SECRET_KEY": "x" * 60}

    options = _settings_value("DATABASES['default']['OPTIONS']", env)

    assert "journal_mode=WAL" in options and "synchronous=NORMAL" in options
    assert "'transaction_mode': 'IMMEDIATE'" in options and "busy_timeout" in options
    assert str(tmp_path / "aivmon.sqlite3") in _settings_value("DATABASES['default']['NAME']", env)


def test_database_url_switches_to_postgresql(tmp_path):
    env = {
        "PATH": "/usr/bin:/bin",
        "AIVMON_VAR_DIR": str(tmp_path),
        "SECRET_KEY": "x" * 60,
        "DATABASE_URL": "postgres://aivmon@127.0.0.1:5999/aivmon",
    }

    assert "postgresql" in _settings_value("DATABASES['default']['ENGINE']", env)
