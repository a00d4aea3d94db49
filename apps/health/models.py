"""Code components and their scans; the latest status of each checked part of aivmon and its
changes; the thresholds the checks grade by (one row, editable by admins)."""

from django.db import models

from apps.health.constants import CodeStatus, Status


class CodeComponent(models.Model):
    """A folder of Python code whose health the scanner reports."""

    name = models.CharField(max_length=100, unique=True)
    # Absolute, or relative to aivmon's BASE_DIR.
    path = models.CharField(max_length=500)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class CodeScan(models.Model):
    """One scan of a component: scores, stub locations and unparsable files (kept as history)."""

    component = models.ForeignKey(CodeComponent, on_delete=models.CASCADE, related_name="scans")
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField(default=0)
    score = models.FloatField(default=0.0)
    implementation_score = models.FloatField(default=0.0)
    functionality_score = models.FloatField(default=0.0)
    completeness_score = models.FloatField(default=0.0)
    status = models.CharField(max_length=16, choices=CodeStatus.choices)
    files = models.PositiveIntegerField(default=0)
    lines = models.PositiveIntegerField(default=0)
    functions = models.PositiveIntegerField(default=0)
    stub_count = models.PositiveIntegerField(default=0)
    stubs = models.JSONField(default=list)  # [{"location": "a/b.py:12", "name", "reason"}]
    syntax_errors = models.JSONField(default=list)  # [{"path", "line", "message"}]
    error = models.TextField(blank=True)  # the path could not be read at all

    class Meta:
        indexes = [models.Index(fields=["component", "-finished_at"], name="health_scan_latest")]

    def __str__(self) -> str:
        return f"{self.component} {self.finished_at:%Y-%m-%d %H:%M} {self.score}"


class ComponentState(models.Model):
    """The latest check of one part of aivmon (database, redis, workers, …)."""

    name = models.CharField(max_length=50, unique=True)
    status = models.CharField(max_length=16, choices=Status.choices)
    checked_at = models.DateTimeField()
    changed_at = models.DateTimeField()
    details = models.JSONField(default=dict)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name}: {self.status}"


class ComponentTransition(models.Model):
    """A change of a component's status, kept as history."""

    name = models.CharField(max_length=50)
    from_status = models.CharField(max_length=16, choices=Status.choices, blank=True)
    to_status = models.CharField(max_length=16, choices=Status.choices)
    at = models.DateTimeField()
    details = models.JSONField(default=dict)

    class Meta:
        indexes = [models.Index(fields=["name", "-at"], name="health_transition_name_at")]

    def __str__(self) -> str:
        return f"{self.name}: {self.from_status or '-'} → {self.to_status}"


class HealthThresholds(models.Model):
    """Where each check turns degraded and unhealthy; one row, created after migrate."""

    db_latency_degraded_ms = models.FloatField(default=200.0)
    db_latency_unhealthy_ms = models.FloatField(default=2000.0)
    redis_memory_degraded_mb = models.FloatField(default=1024.0)
    redis_memory_unhealthy_mb = models.FloatField(default=4096.0)
    workers_degraded_below = models.PositiveIntegerField(
        default=1, help_text="Fewer answering workers than this is degraded; none is unhealthy."
    )
    heartbeat_degraded_s = models.FloatField(default=60.0)
    heartbeat_unhealthy_s = models.FloatField(default=300.0)
    queue_degraded = models.PositiveIntegerField(default=1_000)
    queue_unhealthy = models.PositiveIntegerField(default=10_000)
    disk_free_degraded_pct = models.FloatField(default=15.0)
    disk_free_unhealthy_pct = models.FloatField(default=5.0)
    job_late_degraded_factor = models.FloatField(
        default=3.0, help_text="A job not run for this many of its intervals is degraded."
    )
    job_late_unhealthy_factor = models.FloatField(default=10.0)
    ingest_stale_degraded_s = models.FloatField(default=300.0)
    ingest_stale_unhealthy_s = models.FloatField(default=1800.0)
    ingest_forget_s = models.FloatField(
        default=86_400.0, help_text="Services silent for longer are retired, not stale."
    )

    class Meta:
        verbose_name_plural = "health thresholds"

    def __str__(self) -> str:
        return "health thresholds"
