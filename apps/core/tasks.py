"""Platform tasks."""

from celery import shared_task

from apps.core import services


@shared_task(name="aivmon.core.heartbeat", time_limit=10, soft_time_limit=8, ignore_result=True)
def heartbeat() -> float:
    """Record that a worker is consuming tasks (beat runs this; /readyz and /metrics read it)."""
    return services.heartbeat_record()
