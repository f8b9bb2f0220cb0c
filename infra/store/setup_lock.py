"""One process at a time sets a PostgreSQL deployment up.

Nodes started at the same moment on a fresh database would all run `CREATE TABLE IF NOT
EXISTS` (which PostgreSQL does not make safe against itself: the loser fails on the catalog's
unique index, `tuple concurrently updated` or `pg_type_typname_nsp_index`), and all create the
default project, the admin and the key records. So the first-start steps of a process (the
event store's and the query models' tables, the default project and admin, the key records)
run under one cluster-wide advisory lock: the next node waits, then finds everything there.
The lock is a session lock on a connection of its own, so a process that dies releases it.
SQLite needs none (one server holds the data directory's lock).
"""

from contextlib import contextmanager
from typing import Iterator

import structlog

log = structlog.get_logger("store")

SETUP_LOCK = 0x746964656D61726B  # "tidemark" in ASCII: the advisory lock's key


@contextmanager
def setup_lock(settings) -> Iterator[None]:
    if not settings.uses_postgres:
        yield
        return
    import psycopg

    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        if not conn.execute("SELECT pg_try_advisory_lock(%s)", (SETUP_LOCK,)).fetchone()[0]:
            log.info("waiting for another Tidemark process to finish setting the database up")
            conn.execute("SELECT pg_advisory_lock(%s)", (SETUP_LOCK,))
        try:
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (SETUP_LOCK,))
