"""The logs page without a browser: search, cursor paging, the tail, the severity-count API."""

import re
import time

import pytest

from apps.logs.services import logs_write
from tests.conftest import key_client
from tests.dashboards.support import queries_for
from tests.logs.factories import LogInFactory
from tests.traces.factories import trace_id

OLDER_LINK = re.compile(r'href="\?([^"]*)" rel="next"')
SEVERITY = {"DEBUG": 5, "INFO": 9, "WARN": 13, "ERROR": 17}


def seed_logs(*bodies: str, ago_s: float = 60, severity: str = "INFO", **fields) -> None:
    """Store one record per body, a second apart, the last `ago_s` seconds ago."""
    now = time.time_ns()
    count = len(bodies)
    logs_write(
        logs=[
            LogInFactory(
                ts_ns=now - int((ago_s + count - index) * 1e9),
                body=body,
                severity_text=severity,
                severity_number=SEVERITY[severity],
                **fields,
            )
            for index, body in enumerate(bodies)
        ]
    )


def rows_of(body: str) -> int:
    return body.count("<tr data-id=")


def test_it_searches_words_service_and_severity_newest_first(viewer_client):
    seed_logs("payment declined for order 17", "payment accepted", service="shop")
    seed_logs("payment declined twice", severity="ERROR", service="shop")
    seed_logs("payment declined elsewhere", severity="ERROR", service="api")

    body = viewer_client.get("/ui/logs/?q=Payment+DECLINED&service=shop&min_severity=WARN")

    text = body.content.decode()
    assert body.status_code == 200
    assert rows_of(text) == 1
    assert "payment declined twice" in text
    everything = viewer_client.get("/ui/logs/?q=declined").content.decode()
    assert rows_of(everything) == 3
    order = [everything.index(text) for text in ("elsewhere", "twice", "for order 17")]
    assert order == sorted(order)


def test_older_pages_follow_the_cursor_without_gaps_or_repeats(viewer_client):
    seed_logs(*[f"line {n:03d}" for n in range(120)])

    seen = []
    url = "/ui/logs/?q=line"
    for _ in range(3):
        text = viewer_client.get(url).content.decode()
        seen += [f"line {n:03d}" for n in range(120) if f"line {n:03d}<" in text]
        older = OLDER_LINK.search(text)
        if older is None:
            break
        url = "/ui/logs/?" + older[1].replace("&amp;", "&")

    assert sorted(seen) == [f"line {n:03d}" for n in range(120)]
    assert len(seen) == 120


def test_a_record_with_a_trace_links_to_it(viewer_client):
    seed_logs("charged card", trace_id=trace_id(9), span_id="00f067aa0ba902b7")
    seed_logs("no trace here")

    text = viewer_client.get(f"/ui/logs/?trace_id={trace_id(9)}").content.decode()

    assert rows_of(text) == 1
    assert f'href="/ui/traces/{trace_id(9)}/"' in text


def test_the_tail_answers_only_records_stored_after_the_given_one(viewer_client):
    seed_logs("before the page", severity="ERROR")
    page = viewer_client.get("/ui/logs/?min_severity=ERROR").content.decode()
    after_id = page.split('data-after-id="', 1)[1].split('"', 1)[0]
    assert 'hx-get="/ui/logs/tail/?min_severity=ERROR"' in page

    seed_logs("arrived later", severity="ERROR")
    seed_logs("too quiet to show", severity="INFO")
    tail = viewer_client.get(f"/ui/logs/tail/?min_severity=ERROR&after_id={after_id}")

    assert tail.status_code == 200
    text = tail.content.decode()
    assert rows_of(text) == 1
    assert "arrived later" in text
    assert viewer_client.get("/ui/logs/tail/?after_id=x").status_code == 400


def test_an_older_page_does_not_tail(viewer_client):
    seed_logs("x one")

    text = viewer_client.get("/ui/logs/?before=9000000000000000000-1").content.decode()

    assert "hx-get" not in text.split('id="log-rows"', 1)[1].split(">", 1)[0]
    assert 'id="tail-toggle"' not in text


def test_a_bad_filter_is_a_400_that_names_it(viewer_client):
    seed_logs("x")

    page = viewer_client.get("/ui/logs/?trace_id=nope")

    assert page.status_code == 400
    assert "trace_id: A trace id is 32 hex digits." in page.content.decode()


def test_an_empty_platform_shows_what_to_send(viewer_client):
    body = viewer_client.get("/ui/logs/").content.decode()

    assert 'data-empty="logs"' in body
    assert "/api/v1/ingest/logs" in body


@pytest.mark.parametrize("url", ["/ui/logs/", "/ui/logs/tail/?after_id=0"])
def test_signed_out_visitors_are_sent_to_sign_in(client, url):
    assert client.get(url).url.startswith("/accounts/login/")


def test_severity_counts_bucket_records_by_band(viewer_client):
    seed_logs("a", "b", "c", ago_s=120)
    seed_logs("d", severity="ERROR", ago_s=120)
    now = time.time()

    answer = viewer_client.get(
        "/api/v1/logs/severity-counts", {"start": now - 600, "end": now, "step": 600}
    )

    assert answer.status_code == 200
    lines = {line["label"]: line["points"] for line in answer.json()["lines"]}
    assert answer.json()["step_s"] == 600
    assert {label: sum(n for _, n in points) for label, points in lines.items()} == {
        "INFO": 3,
        "ERROR": 1,
    }


def test_severity_counts_take_the_logs_filters_and_a_read_key(make_key):
    seed_logs("card declined", "card accepted", ago_s=30)
    client = key_client(make_key("read"))

    answer = client.get("/api/v1/logs/severity-counts", {"q": "declined"})

    assert answer.status_code == 200
    assert [sum(n for _, n in line["points"]) for line in answer.json()["lines"]] == [1]
    assert key_client(make_key("ingest")).get("/api/v1/logs/severity-counts").status_code == 403


def test_severity_counts_refuse_a_bad_step_with_the_error_envelope(viewer_client):
    answer = viewer_client.get("/api/v1/logs/severity-counts", {"step": "0"})

    assert answer.status_code == 400
    assert answer.json()["error"]["code"]


def test_the_page_issues_a_fixed_number_of_queries(viewer_client):
    seed_logs("one line")
    few = queries_for(viewer_client, "/ui/logs/?q=line")

    seed_logs(*[f"line {n}" for n in range(300)], severity="ERROR", trace_id=trace_id(3))
    many = queries_for(viewer_client, "/ui/logs/?q=line")

    assert few == many
    assert many <= 6


def test_severity_counts_fill_every_bucket_of_the_range(viewer_client):
    seed_logs("a", ago_s=100)
    end = time.time()

    answer = viewer_client.get(
        "/api/v1/logs/severity-counts", {"start": end - 3600, "end": end}
    ).json()

    (info,) = answer["lines"]
    assert answer["step_s"] == 60
    assert len(info["points"]) in (60, 61)
    assert sum(n for _, n in info["points"]) == 1
    times = [t for t, _ in info["points"]]
    assert times == list(range(times[0], times[0] + 60 * len(times), 60))
