"""Ingesting JUnit XML: a real pytest report, nested suites, hostile and malformed XML."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.testruns.models import CaseResult, Run
from tests.testruns.support import post_xml

pytestmark = pytest.mark.django_db

GENERATED_SUITE = {
    "test_shop.py": """
        import time

        import pytest


        @pytest.fixture
        def broken_database():
            raise RuntimeError("no database")


        def test_adds_to_cart():
            print("this goes to system-out, which is ignored")


        def test_checkout_total(record_property):
            record_property("order", "42")  # a <properties> element, ignored
            assert 2 + 2 == 5, "the total is wrong"


        def test_payment(broken_database):
            pass


        @pytest.mark.skip(reason="not yet")
        def test_refund():
            pass


        def test_slow_search():
            time.sleep(0.3)


        @pytest.mark.xfail(reason="known bug")
        def test_coupon():
            assert False
    """,
    "test_users.py": """
        class TestSignup:
            def test_creates_a_user(self):
                pass
    """,
}


def _pytest_report(directory: Path) -> bytes:
    """Run the generated suite under pytest in a subprocess; return its --junitxml report."""
    for name, source in GENERATED_SUITE.items():
        (directory / name).write_text(textwrap.dedent(source))
    (directory / "empty.ini").write_text("[pytest]\n")  # not this project's pytest config
    report = directory / "report.xml"
    clean_env = {"PATH": os.environ["PATH"], "HOME": str(directory)}
    clean_env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # no pytest-django, hypothesis, ...
    subprocess.run(
        [sys.executable, "-m", "pytest", f"--junitxml={report}", "-p", "no:cacheprovider"]
        + ["-c", str(directory / "empty.ini"), "--rootdir", str(directory), "-q"],
        cwd=directory,
        env=clean_env,
        capture_output=True,
        timeout=120,
        check=False,  # the suite fails on purpose
    )
    return report.read_bytes()


def test_a_real_pytest_junit_report_is_counted_correctly(ingest, tmp_path):
    xml = _pytest_report(tmp_path)

    response = post_xml(ingest, xml, "?suite=shop&run_id=ci-1&commit=abc123&branch=main")

    body = response.json()
    run = Run.objects.get()
    assert response.status_code == 200
    assert (body["accepted"], body["rejected"]) == (7, 0)
    assert body["totals"] == {"tests": 7, "passed": 3, "failed": 1, "error": 1, "skipped": 2}
    assert body["success_rate"] == pytest.approx(60.0)
    assert (body["suite"], body["run_id"], body["commit"], body["branch"]) == (
        "shop",
        "ci-1",
        "abc123",
        "main",
    )
    assert body["run_id_generated"] is False
    assert run.slowest[0]["test"] == "test_shop::test_slow_search"
    assert run.slowest[0]["duration_s"] >= 0.3
    assert {m["module"]: m["success_rate"] for m in run.modules} == {
        "test_shop": pytest.approx(50.0),
        "test_users.TestSignup": 100.0,
    }


def test_a_real_report_keeps_each_outcome_and_message(ingest, tmp_path):
    post_xml(ingest, _pytest_report(tmp_path), "?suite=shop&run_id=ci-1")

    outcomes = dict(CaseResult.objects.values_list("name", "outcome"))
    messages = dict(CaseResult.objects.values_list("name", "message"))
    assert outcomes == {
        "test_adds_to_cart": "passed",
        "test_checkout_total": "failed",
        "test_payment": "error",
        "test_refund": "skipped",
        "test_coupon": "skipped",  # pytest's xfail
        "test_slow_search": "passed",
        "test_creates_a_user": "passed",
    }
    assert "the total is wrong" in messages["test_checkout_total"]
    assert "no database" in messages["test_payment"]
    assert messages["test_refund"] == "not yet"


NESTED = """<?xml version="1.0" encoding="utf-8"?>
<testsuites time="4.5">
  <testsuite name="backend" timestamp="2026-01-01T10:00:00" tests="3">
    <properties><property name="python" value="3.11"/></properties>
    <testsuite name="backend.api">
      <testcase classname="api.TestOrders" name="test_list" time="1.5">
        <system-out>x</system-out>
      </testcase>
      <testcase name="test_no_classname" time="0.5"><skipped/></testcase>
    </testsuite>
    <testcase classname="core" name="test_boot" time="2.5">
      <error type="ImportError">Traceback (most recent call last)
ImportError: no module</error>
    </testcase>
  </testsuite>
  <system-err>ignored</system-err>
</testsuites>"""


def test_nested_testsuites_are_walked_and_the_outer_suite_names_the_run(ingest, settings):
    settings.AIVMON_INGEST_MAX_AGE_S = 10**10  # the report is from the past

    body = post_xml(ingest, NESTED, "?run_id=7").json()

    cases = {c.name: c for c in CaseResult.objects.all()}
    assert body["suite"] == "backend"
    assert body["started_at"] == "2026-01-01T10:00:00Z"  # no zone given: UTC
    assert body["duration_s"] == 4.5
    assert body["totals"] == {"tests": 3, "passed": 1, "failed": 0, "error": 1, "skipped": 1}
    assert cases["test_no_classname"].module == "backend.api"  # its testsuite's name
    assert cases["test_boot"].message == "Traceback (most recent call last)"


def test_text_xml_is_accepted_and_the_query_suite_wins_over_the_testsuite_name(ingest):
    xml = '<testsuite name="pytest"><testcase classname="m" name="t" time="0.1"/></testsuite>'

    response = post_xml(ingest, xml, "?suite=web&run_id=1", content_type="text/xml")

    assert response.status_code == 200
    assert response.json()["suite"] == "web"


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
  <!ENTITY lol "lol">
  <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
  <!ENTITY lol9 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
]>
<testsuite name="lol"><testcase classname="m" name="&lol9;" time="0"/></testsuite>"""
EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE testsuite [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<testsuite name="x"><testcase classname="m" name="&secret;" time="0"/></testsuite>"""
PLAIN_DTD = """<?xml version="1.0"?>
<!DOCTYPE testsuite SYSTEM "http://127.0.0.1:9/junit.dtd">
<testsuite name="x"><testcase classname="m" name="t" time="0"/></testsuite>"""


@pytest.mark.parametrize(
    "xml",
    [BILLION_LAUGHS, EXTERNAL_ENTITY, PLAIN_DTD],
    ids=["billion-laughs", "external-entity", "external-dtd"],
)
def test_hostile_xml_is_refused_with_400_and_stores_nothing(ingest, xml):
    response = post_xml(ingest, xml, "?run_id=1")

    error = response.json()["error"]
    assert response.status_code == 400
    assert "DTD" in error["message"]
    assert set(error) == {"code", "message", "details"}
    assert not Run.objects.exists()


@pytest.mark.parametrize(
    ("xml", "named"),
    [
        ("<testsuite><testcase", "body"),
        ("<html><body/></html>", "body"),
        ('<testsuite><testcase name="t"/></testsuite>', "suite"),
        ('<testsuite name="s" timestamp="yesterday"><testcase name="t"/></testsuite>', "testsuite"),
        ('<?xml version="1.0" encoding="bogus"?><testsuite name="s"/>', "body"),
    ],
    ids=[
        "malformed",
        "not-junit",
        "no-suite",
        "bad-timestamp",
        "unknown-encoding",
    ],
)
def test_a_bad_report_is_a_400_naming_what_is_wrong(ingest, xml, named):
    response = post_xml(ingest, xml)

    error = response.json()["error"]
    assert response.status_code == 400
    assert any(key.startswith(named) for key in error["details"])
    assert not Run.objects.exists()


def test_a_bad_testcase_is_rejected_with_its_document_index_and_the_others_are_stored(ingest):
    xml = """<testsuites><testsuite name="s">
      <testcase name="a" time="0.1"/>
      <testcase name="b" time="soon"/>
      <testsuite name="inner"><testcase time="1"/><testcase name="c" time="-1"/></testsuite>
      <testcase name="d"><failure message="no"/></testcase>
    </testsuite></testsuites>"""

    response = post_xml(ingest, xml, "?run_id=1")

    body = response.json()
    assert response.status_code == 200
    assert (body["accepted"], body["rejected"]) == (2, 3)
    assert [(e["index"], e["message"].split(":")[0]) for e in body["errors"]] == [
        (1, "time"),
        (2, "name"),
        (3, "time"),
    ]
    assert sorted(CaseResult.objects.values_list("name", flat=True)) == ["a", "d"]


@pytest.mark.parametrize(
    "xml",
    [
        '<testsuite name="s"><testcase name="t" time="soon"/></testsuite>',
        '<testsuite name="s"></testsuite>',
    ],
    ids=["only-case-bad", "no-case"],
)
def test_a_report_without_a_good_testcase_is_a_400_in_the_batch_shape(ingest, xml):
    response = post_xml(ingest, xml)

    assert response.status_code == 400
    assert response.json()["accepted"] == 0
    assert not Run.objects.exists()


_XML_TEXT = st.text(alphabet=st.sampled_from('<>/="? testsuitecaseimnafl01.:-&;![]'), max_size=80)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(xml=st.one_of(_XML_TEXT, st.binary(max_size=60)))
def test_arbitrary_xml_never_causes_a_server_error(ingest, xml):
    response = post_xml(ingest, xml, "?suite=fuzz")

    assert response.status_code < 500
