"""Test runs of a suite and the result of each test case in them.

The figures derived from a run and its suite's history (per-module rates, slowest, newly slower
and flaky tests) are computed when the run is stored and kept on its row, so reading is cheap.
"""

from django.db import models

from apps.testruns.constants import (
    BRANCH_MAX_LENGTH,
    COMMIT_MAX_LENGTH,
    MESSAGE_MAX_LENGTH,
    MODULE_MAX_LENGTH,
    NAME_MAX_LENGTH,
    RUN_ID_MAX_LENGTH,
    SUITE_MAX_LENGTH,
    Outcome,
)


class Run(models.Model):
    """One run of a test suite: its totals and what was derived from it at ingest."""

    suite = models.CharField(max_length=SUITE_MAX_LENGTH)
    run_id = models.CharField(max_length=RUN_ID_MAX_LENGTH)
    commit = models.CharField(max_length=COMMIT_MAX_LENGTH, blank=True)
    branch = models.CharField(max_length=BRANCH_MAX_LENGTH, blank=True)
    started_at = models.DateTimeField()
    received_at = models.DateTimeField()
    duration_s = models.FloatField(default=0.0)
    tests = models.PositiveIntegerField(default=0)
    passed = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    error = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    # passed / (passed + failed + error) in percent; None when no test ran.
    success_rate = models.FloatField(null=True, blank=True)
    modules = models.JSONField(default=list, blank=True)
    slowest = models.JSONField(default=list, blank=True)
    slower = models.JSONField(default=list, blank=True)
    flaky = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["suite", "run_id"], name="testruns_run_once")
        ]
        indexes = [
            models.Index(fields=["suite", "started_at"], name="testruns_run_suite_time"),
            models.Index(fields=["started_at"], name="testruns_run_time"),
        ]

    def __str__(self) -> str:
        return f"{self.suite} {self.run_id}"


class CaseResult(models.Model):
    """The outcome and duration of one test case in one run."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="cases")
    module = models.CharField(max_length=MODULE_MAX_LENGTH, blank=True)
    name = models.CharField(max_length=NAME_MAX_LENGTH)
    outcome = models.CharField(max_length=8, choices=Outcome.choices)
    # None when the report did not time the test.
    duration_s = models.FloatField(null=True, blank=True)
    message = models.CharField(max_length=MESSAGE_MAX_LENGTH, blank=True)

    def __str__(self) -> str:
        return f"{self.module}::{self.name} {self.outcome}"
