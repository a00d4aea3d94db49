"""Count finished Celery tasks for /metrics; use SQLite's real variable limit."""

import sqlite3

from celery.signals import task_failure, task_retry, task_success
from django.db.backends.signals import connection_created
from django.dispatch import receiver

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


@receiver(connection_created, dispatch_uid="aivmon.core.sqlite_limits")
def _sqlite_variable_limit(sender, connection, **_kwargs) -> None:
    # Django assumes SQLite's old 999-variable limit and splits bulk inserts by it; the SQLite
    # here allows far more, so a batch is written in one statement (a fixed number of queries).
    if connection.vendor == "sqlite":
        limit = connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
        connection.features.max_query_params = limit
