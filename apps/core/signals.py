"""Count finished Celery tasks for /metrics."""

from celery.signals import task_failure, task_retry, task_success

from apps.core.metrics import CELERY_TASKS


@task_success.connect
def _count_success(sender=None, **_kwargs) -> None:
    CELERY_TASKS.labels(task=sender.name, state="success").inc()


@task_failure.connect
def _count_failure(sender=None, **_kwargs) -> None:
    CELERY_TASKS.labels(task=sender.name, state="failure").inc()


@task_retry.connect
def _count_retry(sender=None, **_kwargs) -> None:
    CELERY_TASKS.labels(task=sender.name, state="retry").inc()
