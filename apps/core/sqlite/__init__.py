"""aivmon's SQLite database backend (ENGINE "apps.core.sqlite"): Django's, with fair waits for
the write lock (see base.py)."""
