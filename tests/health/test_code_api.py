import pytest

from apps.health import services
from apps.health.models import CodeComponent, CodeScan
from tests.conftest import key_client
from tests.health.trees import FULL, STUBS, write

pytestmark = pytest.mark.django_db
URL = "/api/v1/health/code"


@pytest.fixture
def components(tmp_path):
    CodeComponent.objects.update(enabled=False)
    full = CodeComponent.objects.create(
        name="full", path=str(write(tmp_path / "f", {"a.py": FULL}))
    )
    stubs = CodeComponent.objects.create(
        name="stubs", path=str(write(tmp_path / "s", {"b.py": STUBS}))
    )
    return full, stubs


def test_a_viewer_reads_the_latest_scan_of_each_component(viewer_client, components):
    full, stubs = components
    services.code_scan_run(component=full)
    services.code_scan_run(component=stubs)
    latest = services.code_scan_run(component=full)

    body = viewer_client.get(URL).json()

    by_name = {item["component"]: item for item in body["results"]}
    assert set(by_name) == {"full", "stubs"}
    assert by_name["full"]["id"] == latest.pk
    assert by_name["full"]["status"] == "healthy"
    assert by_name["stubs"]["stub_count"] == 8
    assert by_name["stubs"]["stubs"][1]["location"] == "b.py:5"
    assert body["next"] is None


def test_the_history_lists_every_scan_of_a_component_newest_first(viewer_client, components):
    full, _stubs = components
    first = services.code_scan_run(component=full)
    second = services.code_scan_run(component=full)

    body = viewer_client.get(f"{URL}/history", {"component": "full"}).json()

    assert [item["id"] for item in body["results"]] == [second.pk, first.pk]


def test_an_admin_scans_on_demand(admin_client, components):
    response = admin_client.post(URL, {"component": "stubs"}, content_type="application/json")

    assert response.status_code == 201
    assert [item["component"] for item in response.json()["results"]] == ["stubs"]
    assert CodeScan.objects.get().component.name == "stubs"


def test_an_admin_scan_without_a_component_scans_every_enabled_one(admin_client, components):
    response = admin_client.post(URL, {}, content_type="application/json")

    assert sorted(item["component"] for item in response.json()["results"]) == ["full", "stubs"]


def test_an_unknown_component_is_a_400(admin_client, components):
    response = admin_client.post(URL, {"component": "nope"}, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["error"]["details"]["component"]


@pytest.mark.parametrize("client_fixture", ["viewer_client", "operator_client"])
def test_only_admins_trigger_scans(request, client_fixture, components):
    client = request.getfixturevalue(client_fixture)

    response = client.post(URL, {}, content_type="application/json")

    assert response.status_code == 403
    assert CodeScan.objects.count() == 0


def test_a_read_key_reads_but_cannot_scan(make_key, components):
    client = key_client(make_key("read"))

    assert client.get(URL).status_code == 200
    assert client.post(URL, {}, content_type="application/json").status_code == 403


def test_anonymous_requests_are_refused(client):
    assert client.get(URL).status_code in {401, 403}
