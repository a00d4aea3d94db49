import pytest

from apps.traces.services import spans_write
from tests.traces.factories import SpanInFactory, trace_id

pytestmark = pytest.mark.django_db


def test_admins_browse_and_search_spans_read_only(admin_client):
    spans_write(spans=[SpanInFactory(name="GET /orders")])

    listing = admin_client.get("/admin/traces/span/", {"q": "orders"})
    span = listing.context["cl"].result_list[0]

    assert listing.status_code == 200
    assert admin_client.get(f"/admin/traces/span/{span.pk}/change/").status_code == 200
    assert admin_client.get("/admin/traces/span/add/").status_code == 403
    assert admin_client.post(f"/admin/traces/span/{span.pk}/delete/").status_code == 403


def test_admins_browse_trace_summaries_read_only(admin_client):
    spans_write(spans=[SpanInFactory()])

    listing = admin_client.get("/admin/traces/tracesummary/", {"q": trace_id(1)})

    assert listing.status_code == 200
    assert [s.trace_id for s in listing.context["cl"].result_list] == [trace_id(1)]
    assert admin_client.get(f"/admin/traces/tracesummary/{trace_id(1)}/change/").status_code == 200
    assert admin_client.get("/admin/traces/tracesummary/add/").status_code == 403
