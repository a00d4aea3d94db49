"""Test outcomes, the limits of an ingested run, and the defaults of the derived figures."""

from django.db import models


class Outcome(models.TextChoices):
    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"
    SKIPPED = "skipped"


# Outcomes that count against the success rate (skipped tests count for nothing).
FAILING = (Outcome.FAILED, Outcome.ERROR)

SUITE_MAX_LENGTH = 200
RUN_ID_MAX_LENGTH = 200
COMMIT_MAX_LENGTH = 100
BRANCH_MAX_LENGTH = 200
MODULE_MAX_LENGTH = 500
NAME_MAX_LENGTH = 1000
MESSAGE_MAX_LENGTH = 2000
MAX_CASES_PER_RUN = 50_000

# A test's duration is compared with the mean of its durations in this many earlier runs.
BASELINE_RUNS = 5
MAX_BASELINE_RUNS = 50
SLOWER_FACTOR = 1.5
# Tests faster than this are never reported slower: their timing is mostly noise.
MIN_DURATION_MS = 50.0
# Flaky: a pass and a failure of one test at one commit, within this many latest runs.
FLAKY_WINDOW_RUNS = 10
SLOWEST_COUNT = 10
# At most this many slower or flaky tests are kept per run (the worst first).
MAX_LISTED = 100

RETENTION_KEY = "testruns.runs"
# The evaluators look at the latest run of at most this many suites.
MAX_SUITES = 1000

# The alert rule kinds that a stored run hands over to the alert engine.
ALERT_KINDS = ("test_success_rate", "test_perf_degradation", "module_success_rate", "flaky_test")
