"""Runs and case results in the admin: visible to admins, read-only."""

import pytest

from tests.testruns.support import store_run

pytestmark = pytest.mark.django_db


def test_admins_see_runs_and_case_results_read_only(admin_client):
    run = store_run("1", [("test_a", "failed", 0.1)]).run

    runs = admin_client.get("/admin/testruns/run/")
    cases = admin_client.get("/admin/testruns/caseresult/")
    detail = admin_client.get(f"/admin/testruns/run/{run.pk}/change/")
    adding = admin_client.get("/admin/testruns/run/add/")

    assert (runs.status_code, cases.status_code, detail.status_code) == (200, 200, 200)
    assert b"shop" in runs.content and b"test_a" in cases.content
    assert adding.status_code == 403
