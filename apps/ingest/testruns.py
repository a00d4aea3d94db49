"""POST /api/v1/ingest/test-runs: one test run as JUnit XML (as `pytest --junitxml` writes it)
or JSON, stored once per (suite, run_id).

The items of this native batch are the test cases: a bad case is rejected on its own (its index
in `cases`, or in the JUnit document's order) and the run is stored with the others; a run with
no good case is not stored (400). A bad run-level field (suite, run id, start, …) refuses the
whole report (400 in the error envelope, each problem named). XML is parsed with defusedxml and
any DTD is refused, so entity expansion (billion laughs) and external entities never happen.
"""

import hashlib
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from xml.etree.ElementTree import Element, ParseError

import orjson
import redis
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as xml_fromstring
from django.db import OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from apps.core.errors import error_response
from apps.core.times import rfc3339_upper
from apps.ingest import validation as check
from apps.ingest.metrics import INGEST_ITEMS
from apps.ingest.validation import Clock, ItemError, clock
from apps.ingest.views import JSON, RETRY_AFTER_S, _refusal, post_only
from apps.testruns.constants import (
    BRANCH_MAX_LENGTH,
    COMMIT_MAX_LENGTH,
    MAX_CASES_PER_RUN,
    MESSAGE_MAX_LENGTH,
    MODULE_MAX_LENGTH,
    NAME_MAX_LENGTH,
    RUN_ID_MAX_LENGTH,
    SUITE_MAX_LENGTH,
    Outcome,
)
from apps.testruns.services import CaseIn, RunIn, run_ingest

logger = logging.getLogger(__name__)

XML_TYPES = ("application/xml", "text/xml")
FIELDS = {
    "suite": SUITE_MAX_LENGTH,
    "run_id": RUN_ID_MAX_LENGTH,
    "commit": COMMIT_MAX_LENGTH,
    "branch": BRANCH_MAX_LENGTH,
}
MAX_PROBLEMS = 50
# A testcase's child element → its outcome (failure before error before skipped).
XML_OUTCOMES = (("failure", Outcome.FAILED), ("error", Outcome.ERROR), ("skipped", Outcome.SKIPPED))


class ReportError(ValueError):
    """The report cannot be stored; `problems` maps each field or case to what is wrong."""

    def __init__(self, problems: Mapping[str, str]) -> None:
        named = "; ".join(f"{key}: {message}" for key, message in list(problems.items())[:5])
        more = "; …" if len(problems) > 5 else ""
        super().__init__(f"The test run is not valid: {named}{more}")
        self.problems = dict(problems)


@dataclass
class Report:
    """What a report says before the query string is applied."""

    fields: dict[str, Any]
    cases: list[CaseIn]
    # What the report offers when neither the query string nor the body says (a JUnit name).
    defaults: dict[str, str] = field(default_factory=dict)
    started_ns: int | None = None
    duration_s: float | None = None
    problems: dict[str, str] = field(default_factory=dict)
    # The rejected cases: (index, what is wrong); `case_key` names them in problems.
    rejected: list[tuple[int, str]] = field(default_factory=list)
    case_key: str = "cases"


@csrf_exempt
@post_only
def test_runs(request: HttpRequest) -> HttpResponse:
    """Receive one test run (JUnit XML or JSON); store it once with its good cases; answer the
    accepted and rejected cases and the stored run."""
    refusal = _refusal(request, types=(JSON, *XML_TYPES))
    if refusal is not None:
        return refusal
    try:
        run, report, generated = _run_in(request, clock())
    except ReportError as exc:
        details = {key: [message] for key, message in exc.problems.items()}
        return error_response(400, str(exc), details=details)
    INGEST_ITEMS.labels(signal="testruns", outcome="rejected").inc(len(report.rejected))
    if not run.cases:
        return JsonResponse(_batch_answer(0, report.rejected), status=400)
    try:
        stored = run_ingest(run=run)
    except (OperationalError, redis.RedisError) as exc:
        logger.warning("ingest.testruns.unavailable", extra={"error": str(exc)})
        return error_response(
            503,
            "Storage is busy or unreachable; retry shortly.",
            headers={"Retry-After": RETRY_AFTER_S},
        )
    if stored.created:
        INGEST_ITEMS.labels(signal="testruns", outcome="accepted").inc(len(run.cases))
    body = {
        **_batch_answer(len(run.cases), report.rejected),
        **stored.as_json(),
        "run_id_generated": generated,
    }
    return JsonResponse(body, status=200)


def _batch_answer(accepted: int, rejected: list[tuple[int, str]]) -> dict[str, Any]:
    """Return the native-batch answer, the test cases being its items."""
    return {
        "accepted": accepted,
        "rejected": len(rejected),
        "errors": [{"index": index, "message": message} for index, message in sorted(rejected)],
    }


def _run_in(request: HttpRequest, now: Clock) -> tuple[RunIn, Report, bool]:
    """Return the run the request describes (its good cases), the report (its rejected cases)
    and whether the run id was generated."""
    report = (
        _json_report(request.body) if request.content_type == JSON else _xml_report(request.body)
    )
    fields = _fields(request.GET, report)
    started_ns = _started_ns(report, now)
    if report.problems:
        named = {f"{report.case_key}[{i}]": message for i, message in report.rejected}
        problems = {**report.problems, **named}
        raise ReportError(dict(list(problems.items())[:MAX_PROBLEMS]))
    generated = not fields.get("run_id")
    if generated:
        fields["run_id"] = _content_run_id(request.body, fields)
    run = RunIn(
        suite=fields["suite"],
        run_id=fields["run_id"],
        started_at=datetime.fromtimestamp(started_ns // 1_000_000_000, UTC).replace(
            microsecond=started_ns // 1000 % 1_000_000
        ),
        cases=report.cases,
        commit=fields.get("commit", ""),
        branch=fields.get("branch", ""),
        duration_s=report.duration_s,
    )
    return run, report, generated


def _fields(query: Mapping[str, str], report: Report) -> dict[str, str]:
    """Return suite, run_id, commit and branch from the query string or the body, which must
    agree when both give one, else from the report's defaults (a JUnit testsuite name)."""
    fields = {}
    for key, max_len in FIELDS.items():
        given, said = query.get(key) or None, report.fields.get(key)
        if given is not None and said not in (None, "") and said != given:
            report.problems[key] = f"the query string says {given!r}, the body {said!r}"
        choices = (given, said, report.defaults.get(key))
        raw = next((choice for choice in choices if choice not in (None, "")), None)
        value = _field(raw, key, max_len, report.problems)
        if value:
            fields[key] = value
    if "suite" not in fields and "suite" not in report.problems:
        report.problems["suite"] = "required: in the query string or the body"
    return fields


def _field(raw: Any, key: str, max_len: int, problems: dict[str, str]) -> str:
    if raw is None or raw == "":
        return ""
    if not isinstance(raw, str) or len(raw) > max_len or "\x00" in raw:
        problems[key] = f"a string of at most {max_len} characters"
        return ""
    return raw.strip()


def _started_ns(report: Report, now: Clock) -> int:
    if report.started_ns is None:
        return now.now_ns
    try:
        return check.in_window(report.started_ns, "started_at", clock=now)
    except ItemError as exc:
        report.problems["started_at"] = str(exc).removeprefix("started_at: ")
        return now.now_ns


def _content_run_id(body: bytes, fields: Mapping[str, str]) -> str:
    """Return a run id made from the report itself, so that a re-sent report is stored once."""
    digest = hashlib.sha256()
    for key in ("suite", "commit", "branch"):
        digest.update(fields.get(key, "").encode() + b"\x00")
    digest.update(body)
    return f"auto-{digest.hexdigest()[:32]}"


# --- JSON --------------------------------------------------------------------------------------


def _json_report(body: bytes) -> Report:
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ReportError({"body": f"malformed JSON: {exc}"}) from None
    if not isinstance(payload, dict):
        raise ReportError({"body": "must be a JSON object"})
    report = Report({key: payload[key] for key in FIELDS if key in payload}, [])
    raw_cases = payload.get("cases")
    if not isinstance(raw_cases, list):
        report.problems["cases"] = "required: a list of test cases"
    elif len(raw_cases) > MAX_CASES_PER_RUN:
        report.problems["cases"] = f"at most {MAX_CASES_PER_RUN} test cases a run"
    else:
        _json_cases(raw_cases, report)
    if payload.get("started_at") is not None:
        report.started_ns = _json_time(payload["started_at"], report.problems)
    return report


def _json_time(raw: Any, problems: dict[str, str]) -> int | None:
    wide = Clock(0, 0, 2**63 - 1)  # the window is checked once, for XML and JSON alike
    try:
        return check.timestamp_ns(raw, "started_at", clock=wide)
    except ItemError as exc:
        problems["started_at"] = str(exc).removeprefix("started_at: ")
        return None


def _json_cases(raw_cases: list, report: Report) -> None:
    for index, raw in enumerate(raw_cases):
        if not isinstance(raw, dict):
            report.rejected.append((index, "must be an object"))
            continue
        case = _case(
            index,
            report,
            name=raw.get("name"),
            module=raw.get("module"),
            outcome=raw.get("outcome"),
            duration=raw.get("duration"),
            message=raw.get("message"),
        )
        if case is not None:
            report.cases.append(case)


def _case(index: int, report: Report, time_key: str = "duration", **raw: Any) -> CaseIn | None:
    """Return a checked case, or None after rejecting it with each of its problems named."""
    found: dict[str, str] = {}
    name = _text(raw["name"], "name", NAME_MAX_LENGTH, found, required=True)
    module = _text(raw["module"], "module", MODULE_MAX_LENGTH, found)
    message = _text(raw["message"], "message", MESSAGE_MAX_LENGTH, found)
    outcome = raw["outcome"]
    if outcome not in Outcome.values:
        found["outcome"] = f"one of {', '.join(Outcome.values)}"
    duration = _duration(raw["duration"], found, time_key)
    if found:
        report.rejected.append((index, "; ".join(f"{key}: {text}" for key, text in found.items())))
        return None
    return CaseIn(name, module, outcome, duration, message)


def _text(raw: Any, key: str, max_len: int, found: dict[str, str], *, required=False) -> str:
    if raw is None or raw == "":
        if required:
            found[key] = "required, a non-empty string"
        return ""
    if not isinstance(raw, str):
        found[key] = "must be a string"
        return ""
    return check.truncate(raw, max_len)


def _duration(raw: Any, found: dict[str, str], key: str = "duration") -> float | None:
    """Return seconds ≥ 0 (numbers, or text as JUnit writes them); None when not given."""
    if raw is None or raw == "":
        return None
    try:
        seconds = float(raw) if isinstance(raw, str) else check.finite(raw, "duration")
    except (ValueError, ItemError):
        seconds = math.nan
    if not math.isfinite(seconds) or seconds < 0:
        found[key] = "seconds, a finite number ≥ 0"
        return None
    return seconds


# --- JUnit XML --------------------------------------------------------------------------------


def _xml_report(body: bytes) -> Report:
    root = _xml_root(body)
    report = Report({}, [], case_key="testcase")
    # Iterative walk (no recursion on deep nesting): each element with its nearest testsuite.
    stack: list[tuple[Element, Element | None]] = [(root, None)]
    suites, index = [], 0
    while stack:
        element, suite = stack.pop()
        if element.tag == "testsuite":
            suites.append(element)
            suite = element
        elif element.tag == "testcase":
            _xml_case(element, suite, index, report)
            index += 1
            continue
        stack.extend((child, suite) for child in reversed(element))
    if index > MAX_CASES_PER_RUN:
        report.problems["testcase"] = f"at most {MAX_CASES_PER_RUN} test cases a run"
    _xml_suite_facts(root, suites, report)
    return report


def _xml_root(body: bytes) -> Element:
    try:
        root = xml_fromstring(body, forbid_dtd=True)
    except DefusedXmlException:
        raise ReportError({"body": "XML with a DTD or entity declarations is refused"}) from None
    except (ParseError, ValueError, LookupError) as exc:  # LookupError: an unknown encoding
        raise ReportError({"body": f"malformed XML: {exc}"}) from None
    if root.tag not in ("testsuites", "testsuite"):
        raise ReportError({"body": "a JUnit report's root is <testsuites> or <testsuite>"})
    return root


def _xml_case(element: Element, suite: Element | None, index: int, report: Report) -> None:
    if index >= MAX_CASES_PER_RUN:
        return
    outcome, message = Outcome.PASSED.value, ""
    for tag, meaning in XML_OUTCOMES:
        found = element.find(tag)
        if found is not None:
            outcome, message = meaning.value, _xml_message(found)
            break
    module = element.get("classname") or (suite.get("name", "") if suite is not None else "")
    case = _case(
        index,
        report,
        "time",
        name=element.get("name"),
        module=module,
        outcome=outcome,
        duration=element.get("time"),
        message=message,
    )
    if case is not None:
        report.cases.append(case)


def _xml_message(element: Element) -> str:
    text = element.get("message") or (element.text or "").strip().split("\n", 1)[0]
    return check.truncate(text, MESSAGE_MAX_LENGTH)


def _xml_suite_facts(root: Element, suites: list[Element], report: Report) -> None:
    """Take the default suite name, the start time and the total time from the testsuites."""
    if suites and suites[0].get("name"):
        report.defaults["suite"] = suites[0].get("name", "")
    starts = [_xml_time(s.get("timestamp"), report.problems) for s in suites if s.get("timestamp")]
    known = [ns for ns in starts if ns is not None]
    report.started_ns = min(known) if known else None
    outermost = [root] if root.tag == "testsuite" or root.get("time") else list(root)
    times = [
        _duration(s.get("time"), {}) for s in outermost if s.tag in ("testsuites", "testsuite")
    ]
    timed = [seconds for seconds in times if seconds is not None]
    report.duration_s = sum(timed) if timed else None


def _xml_time(raw: str | None, problems: dict[str, str]) -> int | None:
    """Return a testsuite timestamp in epoch ns (ISO 8601; without a zone it is UTC)."""
    try:
        moment = datetime.fromisoformat(rfc3339_upper(raw or ""))
    except ValueError:
        problems["testsuite.timestamp"] = "an ISO 8601 time"
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp()) * 1_000_000_000 + moment.microsecond * 1000
