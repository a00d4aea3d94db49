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

echo "== pytest on SQLite"
python -m pytest "$@"

echo "== pytest on PostgreSQL"
scripts/with_postgres.sh python -m pytest "$@"
