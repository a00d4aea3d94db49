import pytest

from apps.logs.services import logs_write
from tests.logs.factories import LogInFactory

pytestmark = pytest.mark.django_db


def test_admins_browse_and_search_log_records_read_only(admin_client):
    logs_write(logs=[LogInFactory(body="payment failed"), LogInFactory(body="all good")])

    listing = admin_client.get("/admin/logs/logrecord/", {"q": "Failed payment"})
    [record] = listing.context["cl"].result_list
    detail = admin_client.get(f"/admin/logs/logrecord/{record.pk}/change/")

    assert listing.status_code == 200
    assert detail.status_code == 200
    assert admin_client.get("/admin/logs/logrecord/add/").status_code == 403
    assert admin_client.post(f"/admin/logs/logrecord/{record.pk}/delete/").status_code == 403


def test_the_admin_search_also_finds_a_service_or_a_trace(admin_client):
    trace = "4bf92f3577b34da6a3ce929d0e0e4736"
    logs_write(logs=[LogInFactory(service="billing"), LogInFactory(trace_id=trace), LogInFactory()])

    by_service = admin_client.get("/admin/logs/logrecord/", {"q": "billing"})
    by_trace = admin_client.get("/admin/logs/logrecord/", {"q": trace.upper()})

    assert [r.service for r in by_service.context["cl"].result_list] == ["billing"]
    assert [r.trace_id for r in by_trace.context["cl"].result_list] == [trace]
