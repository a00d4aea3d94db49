from datetime import timedelta

import pytest
from django.utils import timezone

from apps.health import services, tasks
from apps.health.models import CodeComponent, CodeScan
from tests.health.trees import FULL, STUBS, write

pytestmark = pytest.mark.django_db


def test_aivmon_scans_its_own_apps_by_default():
    component = CodeComponent.objects.get()

    scan = services.code_scan_run(component=component)

    assert (component.name, component.path) == ("aivmon", "apps")
    assert scan.files > 100
    assert scan.status == "healthy"
    assert scan.syntax_errors == []


def test_a_scan_keeps_scores_and_stub_locations(tmp_path):
    component = CodeComponent.objects.create(
        name="stubby", path=str(write(tmp_path, {"s.py": STUBS}))
    )

    scan = services.code_scan_run(component=component)

    assert scan.status == "unhealthy"
    assert scan.stub_count == 8
    assert scan.stubs[0] == {"location": "s.py:1", "name": "nothing", "reason": "pass"}


def test_a_missing_path_is_an_unhealthy_scan_naming_the_path(tmp_path):
    component = CodeComponent.objects.create(name="gone", path=str(tmp_path / "nowhere"))

    scan = services.code_scan_run(component=component)

    assert scan.status == "unhealthy"
    assert "nowhere" in scan.error


def test_the_daily_scan_skips_components_scanned_within_the_hour(tmp_path):
    CodeComponent.objects.update(enabled=False)
    CodeComponent.objects.create(name="full", path=str(write(tmp_path, {"f.py": FULL})))

    first = tasks.scan_code(min_age_s=3600)
    second = tasks.scan_code(min_age_s=3600)

    assert len(first) == 1
    assert second == []
    assert CodeScan.objects.count() == 1


def test_scans_are_kept_as_history(tmp_path):
    component = CodeComponent.objects.create(name="full", path=str(write(tmp_path, {"f.py": FULL})))
    services.code_scan_run(component=component)
    CodeScan.objects.update(finished_at=timezone.now() - timedelta(days=1))

    services.code_scan_run(component=component)

    assert CodeScan.objects.filter(component=component).count() == 2


def test_the_admin_action_scans_the_selected_components(admin_client, tmp_path):
    component = CodeComponent.objects.create(name="full", path=str(write(tmp_path, {"f.py": FULL})))

    response = admin_client.post(
        "/admin/health/codecomponent/",
        {"action": "scan_now", "_selected_action": [component.pk]},
    )

    assert response.status_code == 302
    assert CodeScan.objects.get().component == component
