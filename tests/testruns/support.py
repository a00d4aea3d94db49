"""Helpers for the test-run tests: cases, JSON and XML reports, posting them, storing runs."""

from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from apps.testruns.services import CaseIn, RunIn, RunStored, run_ingest

URL = "/api/v1/ingest/test-runs"
MODULE = "tests.test_shop"


def case(name: str, outcome: str = "passed", duration: float | None = 0.1, **fields: Any) -> dict:
    """Return a JSON case of module tests.test_shop, with `fields` on top."""
    return {"name": name, "module": MODULE, "outcome": outcome, "duration": duration, **fields}


def run_body(cases: list[dict], **fields: Any) -> dict[str, Any]:
    """Return a JSON run of suite "shop", run "r1", with `fields` on top."""
    return {"suite": "shop", "run_id": "r1", "cases": cases, **fields}


def post_json(client, body: Any, query: str = ""):
    return client.post(f"{URL}{query}", body, content_type="application/json")


def post_xml(client, xml: str | bytes, query: str = "", content_type: str = "application/xml"):
    return client.post(f"{URL}{query}", xml, content_type=content_type)


def store_run(
    run_id: str,
    cases: list[tuple[str, str, float | None]],
    *,
    suite: str = "shop",
    commit: str = "",
    at: datetime | None = None,
    module: str = MODULE,
) -> RunStored:
    """Store a run through the service; cases are (name, outcome, duration in seconds)."""
    return run_ingest(
        run=RunIn(
            suite=suite,
            run_id=run_id,
            started_at=at or timezone.now(),
            cases=[CaseIn(name, module, outcome, duration) for name, outcome, duration in cases],
            commit=commit,
        )
    )


def store_runs(timings: list[dict[str, float]], *, suite: str = "shop") -> list[RunStored]:
    """Store one passing run per dict of test name → seconds, a minute apart, oldest first."""
    start = timezone.now() - timedelta(minutes=len(timings))
    return [
        store_run(
            f"run-{index}",
            [(name, "passed", seconds) for name, seconds in timing.items()],
            suite=suite,
            at=start + timedelta(minutes=index),
        )
        for index, timing in enumerate(timings)
    ]
