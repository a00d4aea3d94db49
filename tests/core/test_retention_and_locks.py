import pytest

from apps.core.locks import single_flight
from apps.core.models import RetentionPolicy
from apps.core.selectors import retention_days


@pytest.mark.django_db
def test_retention_defaults_exist_and_an_admin_edit_wins():
    RetentionPolicy.objects.filter(key="logs.debug").update(days=2)

    assert retention_days("metrics.raw") == 7 and retention_days("traces.error") == 90
    assert retention_days("security.critical") is None and retention_days("logs.debug") == 2


@pytest.mark.django_db
def test_retention_policies_are_editable_in_the_admin_but_not_deletable(admin_client):
    policy = RetentionPolicy.objects.get(key="metrics.raw")

    response = admin_client.post(
        "/admin/core/retentionpolicy/",
        {
            "form-TOTAL_FORMS": "1",
            "form-INITIAL_FORMS": "1",
            "form-0-id": policy.pk,
            "form-0-days": "14",
            "_save": "Save",
        },
    )

    assert response.status_code == 302 and retention_days("metrics.raw") == 14
    assert admin_client.get(f"/admin/core/retentionpolicy/{policy.pk}/delete/").status_code == 403


def test_a_job_runs_in_one_place_at_a_time():
    with (
        single_flight("rollup", timeout_s=10) as first,
        single_flight("rollup", timeout_s=10) as second,
    ):
        assert (first, second) == (True, False)
    with single_flight("rollup", timeout_s=10) as again:
        assert again
