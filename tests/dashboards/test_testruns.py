"""The test-runs pages without a browser: suites, figures, one run, 404s, the query count."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.dashboards.support import queries_for
from tests.testruns.support import store_run


def seed_suite(suite: str = "shop", runs: int = 6, *, slow_last: bool = True) -> list[int]:
    """Store `runs` runs of `suite` a minute apart: test_pay gets 3x slower in the last run,
    test_cart fails in the last two (also passing once at their commit: flaky)."""
    start = timezone.now() - timedelta(hours=1)
    pks = []
    for index in range(runs):
        last = index == runs - 1
        cases = [
            ("test_pay", "passed", 0.9 if last and slow_last else 0.3),
            ("test_cart", "failed" if index >= runs - 2 else "passed", 0.1),
            ("test_login", "passed", 0.2),
        ]
        commit = "c0ffee" if index >= runs - 3 else f"old{index}"
        stored = store_run(
            f"{suite}-{index}",
            cases,
            suite=suite,
            commit=commit,
            at=start + timedelta(minutes=index),
        )
        pks.append(stored.run.pk)
    return pks


def test_it_shows_each_suites_latest_run_slower_and_flaky_tests_and_module_rates(viewer_client):
    seed_suite("shop")
    seed_suite("billing", runs=3, slow_last=False)

    text = viewer_client.get("/ui/testruns/").content.decode()

    assert ">shop-5</a>" in text and ">billing-2</a>" in text
    slower = text.split('id="slower-heading"', 1)[1].split("</section>", 1)[0]
    assert "tests.test_shop::test_pay" in slower and "3.00" in slower
    flaky = text.split('id="flaky-heading"', 1)[1].split("</section>", 1)[0]
    assert "tests.test_shop::test_cart" in flaky and "c0ffee" in flaky
    modules = text.split('id="modules-heading"', 1)[1].split("</section>", 1)[0]
    assert "tests.test_shop" in modules and "66.7 %" in modules
    assert 'data-src="/api/v1/testruns?limit=1000"' in text


def test_a_suite_filter_narrows_the_page_and_the_chart(viewer_client):
    seed_suite("shop", runs=2)
    seed_suite("billing", runs=2)

    text = viewer_client.get("/ui/testruns/?suite=billing").content.decode()

    recent = text.split('id="recent-heading"', 1)[1]
    assert "billing-1" in recent and "shop-1" not in recent
    assert 'data-src="/api/v1/testruns?limit=1000&amp;suite=billing"' in text
    assert '<option value="shop">shop</option>' in text  # every suite stays choosable


def test_a_run_shows_its_failures_with_their_messages(viewer_client):
    stored = store_run(
        "r1", [("test_ok", "passed", 0.1), ("test_boom", "error", 0.2)], suite="shop"
    )
    run = stored.run
    run.cases.filter(name="test_boom").update(message="KeyError: 'sku'")

    text = viewer_client.get(f"/ui/testruns/{run.pk}/").content.decode()

    assert "tests.test_shop::test_boom" in text
    assert "KeyError: &#x27;sku&#x27;" in text
    assert "50.0 %" in text


def test_an_unknown_run_is_a_404_page(viewer_client):
    page = viewer_client.get("/ui/testruns/999999/")

    assert page.status_code == 404
    assert "Test run not found" in page.content.decode()


def test_an_empty_platform_shows_what_to_send(viewer_client):
    text = viewer_client.get("/ui/testruns/").content.decode()

    assert 'data-empty="testruns"' in text
    assert "/api/v1/ingest/test-runs" in text


@pytest.mark.parametrize("url", ["/ui/testruns/", "/ui/testruns/1/"])
def test_signed_out_visitors_are_sent_to_sign_in(client, url):
    assert client.get(url).url.startswith("/accounts/login/")


def test_the_pages_issue_a_fixed_number_of_queries(viewer_client):
    (first,) = seed_suite("shop", runs=1)
    few = queries_for(viewer_client, "/ui/testruns/")
    one_run = queries_for(viewer_client, f"/ui/testruns/{first}/")

    for suite in ("billing", "search", "admin", "api"):
        seed_suite(suite, runs=8)
    many = queries_for(viewer_client, "/ui/testruns/")
    (big,) = seed_suite("big", runs=1)

    assert few == many <= 7
    assert one_run == queries_for(viewer_client, f"/ui/testruns/{big}/") <= 5
