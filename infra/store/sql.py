"""A thin SQL layer over SQLite and PostgreSQL for the query models.

SQL is written once with `?` placeholders; PostgreSQL gets `%s`. Writes go
through one transaction at a time per process; reads use their own connections.
"""

import re
import sqlite3
import threading
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator, Sequence

from domain.errors import BadRequest
from domain.input_limits import is_int64


def bounded(params: Sequence[Any]) -> Sequence[Any]:
    """The parameters, once every int is known to fit a 64-bit column. An id, page or
    offset taken from a request can be any size; SQLite raises OverflowError and PostgreSQL
    NumericValueOutOfRange for one that does not fit, which would answer 500. No row can
    hold such a number, so the request is refused instead."""
    for value in params:
        if not is_int64(value):
            raise BadRequest("a number in the request is outside the 64-bit range",
                             {"value": str(value)[:40]})
    return params


@lru_cache(maxsize=512)
def _to_pg(sql: str) -> str:
    return sql.replace("?", "%s")


class Database:
    """Query-model storage: `write()` gives a transaction, `read()` runs one query."""

    dialect: str

    def read(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        raise NotImplementedError

    @contextmanager
    def write(self) -> Iterator["Writer"]:
        raise NotImplementedError
        yield  # pragma: no cover

    def close(self) -> None:
        pass


_RETURNING = re.compile(r"\bRETURNING\b")


@lru_cache(maxsize=1024)
def returns_rows(sql: str) -> bool:
    """Whether a statement answers with rows (a query, or a change with RETURNING)."""
    text = sql.lstrip().upper()
    return text.startswith(("SELECT", "WITH", "VALUES")) or _RETURNING.search(text) is not None


class Writer:
    """The cursor handed out by `Database.write()`. `pipelined`: statements that answer no
    rows are sent without waiting for the server (PostgreSQL's pipeline mode); one that
    answers rows waits for everything before it. An error then surfaces at the next
    statement with rows or at the end of the transaction, which rolls it all back."""

    def __init__(self, cursor: Any, translate, pipelined: bool = False) -> None:
        self._cursor = cursor
        self._translate = translate
        self._pipelined = pipelined

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        self._cursor.execute(self._translate(sql), bounded(params))
        if self._pipelined:
            return self._cursor.fetchall() if returns_rows(sql) else []
        if self._cursor.description is None:
            return []
        return self._cursor.fetchall()

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self._cursor.executemany(self._translate(sql), rows)


WRITER_CACHE_KIB = 64 * 1024


class SQLiteDatabase(Database):
    dialect = "sqlite"

    def __init__(self, path: Path) -> None:
        self.path = str(path)
        self._write_lock = threading.Lock()
        self._local = threading.local()
        self._writer = self._connect()
        # Every projection writes through this one connection; with SQLite's default 2 MiB
        # page cache a view of a million rows re-reads its B-tree pages on every statement
        # (a rebuild ran 2x slower at 1M events than at 100k). Pages are cached as touched.
        self._writer.execute(f"PRAGMA cache_size=-{WRITER_CACHE_KIB}")

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA busy_timeout=30000")
        return conn

    def _reader(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect()
        return conn

    def read(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        return self._reader().execute(sql, bounded(params)).fetchall()

    @contextmanager
    def write(self) -> Iterator[Writer]:
        with self._write_lock:
            cursor = self._writer.cursor()
            cursor.execute("BEGIN IMMEDIATE")
            try:
                yield Writer(cursor, lambda sql: sql)
            except BaseException:
                cursor.execute("ROLLBACK")
                raise
            cursor.execute("COMMIT")

    def close(self) -> None:
        # Under the write lock: a transaction in progress (a follower's batch) commits first,
        # and nothing runs on the connection while it closes (that crashed the interpreter).
        with self._write_lock:
            self._writer.close()


class PostgresDatabase(Database):
    dialect = "postgres"

    def __init__(self, url: str, max_size: int = 10) -> None:
        from psycopg_pool import ConnectionPool

        self.pool = ConnectionPool(url, min_size=1, max_size=max_size, open=True,
                                   kwargs={"autocommit": True})
        self._write_lock = threading.Lock()

    def read(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        with self.pool.connection() as conn:
            return conn.execute(_to_pg(sql), bounded(params)).fetchall()

    @contextmanager
    def write(self) -> Iterator[Writer]:
        # Pipelined: a projection batch of thousands of small statements would otherwise
        # wait for one round trip each (a rebuild ran at 1,300 events/s).
        with self._write_lock, self.pool.connection() as conn, conn.transaction():
            with conn.pipeline(), conn.cursor() as cursor:
                yield Writer(cursor, _to_pg, pipelined=True)

    def close(self) -> None:
        with self._write_lock:  # as on SQLite: a transaction in progress finishes first
            self.pool.close()


def open_database(settings) -> Database:
    if settings.uses_postgres:
        return PostgresDatabase(settings.database_url)
    settings.data_path.mkdir(parents=True, exist_ok=True)
    return SQLiteDatabase(settings.data_path / "views.sqlite")
