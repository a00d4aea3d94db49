"""The system-health page through the Django test client: components, code health, queries."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.health import services
from apps.health.models import CodeComponent
from apps.metrics.services import points_write
from tests.dashboards.support import queries_for
from tests.health.trees import FULL, STUBS, write
from tests.metrics.factories import gauge, point

pytestmark = pytest.mark.django_db
URL = "/ui/health/"


def seed_host(minutes: int = 5) -> None:
    """Host samples as the sampler writes them (service aivmon), one a minute up to now."""
    now_ms = int(time.time() // 60 * 60_000)
    points = []
    for minute in range(minutes):
        ts_ms = now_ms - (minutes - 1 - minute) * 60_000
        host = {"host.name": "h"}
        points += [
            gauge(
                "system.cpu.utilization",
                0.1 + minute / 100,
                service="aivmon",
                labels={**host, "cpu": "total"},
                ts_ms=ts_ms,
            ),
            gauge("system.memory.utilization", 0.4, service="aivmon", labels=host, ts_ms=ts_ms),
            gauge(
                "system.filesystem.utilization",
                0.6,
                service="aivmon",
                labels={**host, "system.filesystem.mountpoint": "/"},
                ts_ms=ts_ms,
            ),
        ]
        for direction in ("receive", "transmit"):
            labels = {**host, "system.device": "eth0", "network.io.direction": direction}
            points.append(
                point(
                    "system.network.io",
                    1000.0 * minute * 60,
                    service="aivmon",
                    labels=labels,
                    ts_ms=ts_ms,
                )
            )
    points_write(points=points)


def seed_components(count: int = 2) -> None:
    now = timezone.now()
    for n in range(count):
        services.component_state_record(
            name=f"part{n}",
            status=("healthy", "degraded", "unhealthy")[n % 3],
            details={"latency_ms": 3.5 + n},
            at=now - timedelta(seconds=n),
        )


def seed_scans(tmp_path, components: int = 1, prefix: str = "forge") -> None:
    """Each component scanned twice: complete first, then with stubs (its score falls)."""
    for n in range(components):
        root = tmp_path / f"c{n}"
        component = CodeComponent.objects.create(
            name=f"{prefix}{n}", path=str(write(root, {"a.py": FULL}))
        )
        services.code_scan_run(component=component)
        write(root, {"a.py": FULL, "s.py": STUBS})
        services.code_scan_run(component=component)


def test_it_shows_components_scores_with_their_trend_and_stubs(viewer_client, tmp_path):
    seed_host()
    seed_components()
    seed_scans(tmp_path)

    page = viewer_client.get(URL + "?range=6h").content.decode()

    assert '<option value="6h" selected>' in page
    assert 'data-range="21600"' in page
    assert "part1" in page and "badge-degraded" in page
    assert "forge0" in page and "▼ from" in page  # the stubs pulled its score down
    assert "<code>s.py:1</code>" in page
    assert 'id="code-trend"' in page
    assert 'data-empty="health"' not in page


def test_without_checks_it_says_what_to_run(viewer_client):
    page = viewer_client.get(URL).content.decode()

    assert 'data-empty="health"' in page
    assert "make run" in page
    assert "No code scan yet" in page


def test_an_unknown_range_falls_back_to_an_hour(viewer_client):
    page = viewer_client.get(URL + "?range=forever").content.decode()

    assert 'data-range="3600"' in page


def test_its_query_count_does_not_grow_with_the_data(viewer_client, tmp_path):
    seed_components(1)
    seed_scans(tmp_path / "few", 1)
    few = queries_for(viewer_client, URL)
    seed_components(12)  # part0 again, and 11 more
    seed_scans(tmp_path / "many", 6, prefix="more")
    many = queries_for(viewer_client, URL)

    assert few == many <= 6
