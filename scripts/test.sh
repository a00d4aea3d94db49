#!/usr/bin/env bash
# `make test`: lint, migrations, deploy check, then the whole suite on SQLite and on PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
unset DATABASE_URL REDIS_URL DJANGO_SETTINGS_MODULE

echo "== ruff"
ruff check .
ruff format --check .

echo "== mypy"
mypy apps aivmon sdk

echo "== migrations are up to date"
DJANGO_SETTINGS_MODULE=aivmon.settings.test python manage.py makemigrations --check --dry-run

echo "== check --deploy with production settings"
deploy_var=$(mktemp -d)
trap 'rm -rf "$deploy_var"' EXIT
DJANGO_SETTINGS_MODULE=aivmon.settings.base AIVMON_VAR_DIR="$deploy_var" \
  SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(64))')" \
  AIVMON_ALLOWED_HOSTS=aivmon.example.com AIVMON_HSTS_PRELOAD=1 \
  python manage.py check --deploy --fail-level WARNING

# The two runs share nothing (each has its own database, Redis and ports) and spend much of their
# time waiting on processes, browsers and sockets, so they run side by side; each one's output is
# kept and shown whole when it ends, SQLite first.
logs=$(mktemp -d)
trap 'rm -rf "$deploy_var" "$logs"' EXIT
echo "== pytest on SQLite and on PostgreSQL, side by side"
python -m pytest "$@" >"$logs/sqlite" 2>&1 &
sqlite_pid=$!
scripts/with_postgres.sh python -m pytest "$@" >"$logs/postgres" 2>&1 &
postgres_pid=$!
sqlite_rc=0; wait "$sqlite_pid" || sqlite_rc=$?
echo "== pytest on SQLite (exit $sqlite_rc)"; cat "$logs/sqlite"
postgres_rc=0; wait "$postgres_pid" || postgres_rc=$?
echo "== pytest on PostgreSQL (exit $postgres_rc)"; cat "$logs/postgres"
if [ "$sqlite_rc" -ne 0 ] || [ "$postgres_rc" -ne 0 ]; then
  echo "FAILED: pytest on SQLite exited $sqlite_rc, on PostgreSQL $postgres_rc"
  exit 1
fi
