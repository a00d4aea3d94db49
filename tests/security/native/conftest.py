"""The native parts are held to their Python references without any database: their tests run
once, in the SQLite run of `make test`, and are skipped in the PostgreSQL one."""

import pytest
from django.db import connection


@pytest.fixture(autouse=True)
def _once_per_make_test():
    if connection.vendor != "sqlite":
        pytest.skip("touches no database: runs once, with the SQLite suite")
