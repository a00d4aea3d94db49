#!/usr/bin/env bash
# `make run`: migrate, make sure an admin exists, then start everything under honcho.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
export DJANGO_SETTINGS_MODULE="${DJANGO_SETTINGS_MODULE:-aivmon.settings.local}"
export AIVMON_VAR_DIR="${AIVMON_VAR_DIR:-$PWD/var}"
mkdir -p "$AIVMON_VAR_DIR"

python manage.py migrate --noinput -v0
python manage.py collectstatic --noinput -v0
python manage.py bootstrap_admin

# Every process writes its Prometheus figures here; /metrics sums them. Fresh each start.
export PROMETHEUS_MULTIPROC_DIR="$AIVMON_VAR_DIR/prometheus"
rm -rf "$PROMETHEUS_MULTIPROC_DIR" && mkdir -p "$PROMETHEUS_MULTIPROC_DIR"

processes="web worker beat"
if [ -z "${REDIS_URL:-}" ]; then
  processes="redis $processes"
fi
echo "aivmon: starting $processes on http://${AIVMON_BIND:-127.0.0.1}:${AIVMON_PORT:-8000}/"
exec honcho --procfile Procfile start $processes
