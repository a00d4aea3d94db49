#!/usr/bin/env bash
# Run a command with DATABASE_URL pointing at a private PostgreSQL on 127.0.0.1, started in a
# temp dir on a free port and stopped (and removed) afterwards.
set -euo pipefail
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
data=$(mktemp -d /tmp/aivmon-pg.XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
as_pg() { if [ "$(id -u)" -eq 0 ]; then chown -R postgres "$data"; runuser -u postgres -- "$@"; else "$@"; fi; }

as_pg "$PGBIN/initdb" -D "$data/db" -U aivmon --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
as_pg "$PGBIN/pg_ctl" -D "$data/db" -l "$data/db/server.log" -w -t 30 \
  -o "-c listen_addresses=127.0.0.1 -p $port -k $data -c fsync=off -c full_page_writes=off" start >/dev/null
stop() {
  as_pg "$PGBIN/pg_ctl" -D "$data/db" -m fast -w stop >/dev/null || true
  rm -rf "$data"
}
trap stop EXIT
"$PGBIN/createdb" -h 127.0.0.1 -p "$port" -U aivmon aivmon
echo "with_postgres: PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$port"
DATABASE_URL="postgres://aivmon@127.0.0.1:$port/aivmon" "$@"
