"""`make bench` (queries): metric range queries over a month of points, against raw SQL.

Builds a throwaway SQLite database with AIVMON_BENCH_QUERY_POINTS points (default 10,000,000)
spread over 100 series and 30 days, rolls them up as the
beat task would, then times GET /api/v1/metrics/query in-process (Django's test client: view,
selector and SQL, no network): a 1-hour range (raw points) and a 30-day range (hourly rollups),
warm. The ceiling is the raw SQL a 1-hour query needs, in the same run.
"""

import os
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

POINTS = int(os.environ.get("AIVMON_BENCH_QUERY_POINTS", "10000000"))
SERIES = 100
DAYS = 30
RUNS = 50


def setup_django(var: Path) -> None:
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "aivmon.settings.local",
            "AIVMON_VAR_DIR": str(var),
            "AIVMON_LOG_LEVEL": "WARNING",
        }
    )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def load_points(now_ms: int) -> float:
    """Create the series through the service, then bulk-load their points; return seconds."""
    from django.conf import settings

    from apps.metrics.services import PointIn, points_write

    points_write(
        points=[
            PointIn(
                name="bench_q",
                type="gauge",
                service="bench",
                labels={"host": f"h{i}"},
                ts_ms=now_ms,
                value=0.0,
            )
            for i in range(SERIES)
        ]
    )
    database = settings.DATABASES["default"]["NAME"]
    connection = sqlite3.connect(database, isolation_level=None)
    ids = [
        row[0]
        for row in connection.execute(
            "SELECT id FROM metrics_series WHERE name = 'bench_q' ORDER BY id"
        )
    ]
    per_series = POINTS // SERIES
    interval_ms = DAYS * 86_400_000 // per_series
    started = time.perf_counter()
    for series_id in ids:
        rows = [
            (series_id, now_ms - (k + 1) * interval_ms, float(k % 100)) for k in range(per_series)
        ]
        connection.execute("BEGIN")
        connection.executemany(
            "INSERT INTO metrics_point (series_id, ts_ms, value) VALUES (?, ?, ?)"
            " ON CONFLICT DO NOTHING",
            rows,
        )
        connection.execute("COMMIT")
    connection.execute("ANALYZE")
    connection.close()
    return time.perf_counter() - started


def roll_up(now_ms: int) -> float:
    from apps.metrics.rollups import rollup_advance

    started = time.perf_counter()
    rollup_advance(resolution="hour", now_ms=now_ms, max_buckets=DAYS * 24 + 48)
    rollup_advance(resolution="day", now_ms=now_ms, max_buckets=DAYS + 2)
    return time.perf_counter() - started


def timed(client, url: str) -> tuple[float, float]:
    client.get(url)  # warm
    durations = []
    for _ in range(RUNS):
        started = time.perf_counter()
        response = client.get(url)
        durations.append(time.perf_counter() - started)
        assert response.status_code == 200, response.content
    durations.sort()
    return statistics.median(durations) * 1000, durations[int(RUNS * 0.95) - 1] * 1000


def ceiling_ms(now_ms: int) -> float:
    from django.db import connection

    sql = (
        "SELECT (ts_ms - %s) / 60000, AVG(value) FROM metrics_point WHERE series_id = %s"
        " AND ts_ms >= %s AND ts_ms < %s GROUP BY 1"
    )
    series_id = (
        connection.cursor()
        .execute("SELECT id FROM metrics_series WHERE name='bench_q' ORDER BY id LIMIT 1")
        .fetchone()[0]
    )
    durations = []
    for _ in range(RUNS):
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(sql, [now_ms - 3_600_000, series_id, now_ms - 3_600_000, now_ms])
            cursor.fetchall()
        durations.append(time.perf_counter() - started)
    durations.sort()
    return durations[int(RUNS * 0.95) - 1] * 1000


def main() -> None:
    var = Path(tempfile.mkdtemp(prefix="aivmon-bench-query-"))
    setup_django(var)
    from django.test import Client

    from apps.accounts.services import api_key_create

    now_ms = int(time.time() // 3600 * 3600 * 1000)  # an hour boundary: the last hour is raw
    load_s = load_points(now_ms)
    rollup_s = roll_up(now_ms + 3_600_000)
    _, key = api_key_create(name="bench", scopes=["read"])
    client = Client(HTTP_X_API_KEY=key, HTTP_HOST="127.0.0.1")
    end_s = now_ms / 1000
    hour = (
        f"/api/v1/metrics/query?name=bench_q&label.host=h7&agg=avg&step=60"
        f"&start={end_s - 3600}&end={end_s}"
    )
    month = (
        f"/api/v1/metrics/query?name=bench_q&label.host=h7&agg=avg&step=3600"
        f"&start={end_s - DAYS * 86400}&end={end_s}"
    )
    hour_p50, hour_p95 = timed(client, hour)
    month_p50, month_p95 = timed(client, month)
    ceiling = ceiling_ms(now_ms)
    print(
        f"query data  {POINTS:,} points, {SERIES} series, {DAYS} days: loaded in {load_s:.1f} s,"
        f" rolled up in {rollup_s:.1f} s"
    )
    print(
        f"query 1 h   one series, step 60 s, raw points: p50 {hour_p50:.2f} ms, p95 "
        f"{hour_p95:.2f} ms (raw SQL ceiling p95 {ceiling:.2f} ms = {hour_p95 / ceiling:.1f} x)"
    )
    print(
        f"query 30 d  one series, step 1 h, hourly rollups: p50 {month_p50:.2f} ms, p95 "
        f"{month_p95:.2f} ms"
    )


if __name__ == "__main__":
    main()
