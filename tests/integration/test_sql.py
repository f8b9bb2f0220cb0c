"""The query-model database layer: a failed statement rolls back its whole transaction on
both backends, PostgreSQL's pipelined writes included, and queries answer their rows."""

import pytest

from infra.store.sql import PostgresDatabase, SQLiteDatabase, returns_rows
from tests.integration.conftest import _reset_postgres


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request, tmp_path):
    if request.param == "sqlite":
        database = SQLiteDatabase(tmp_path / "views.sqlite")
    else:
        url = request.getfixturevalue("postgres_url")
        _reset_postgres(url)
        database = PostgresDatabase(url, max_size=2)
    yield database
    database.close()


def test_statements_that_answer_rows_are_told_apart():
    assert returns_rows("  SELECT 1") and returns_rows("select x from t")
    assert returns_rows("UPDATE t SET live = live - 1 WHERE k = ?\nRETURNING live")
    assert not returns_rows("INSERT INTO t SELECT * FROM u")
    assert not returns_rows("UPDATE t SET returning_count = 1")


def test_a_failing_statement_rolls_back_everything_before_it(db):
    with db.write() as w:
        w.execute("CREATE TABLE t (k TEXT PRIMARY KEY, n BIGINT NOT NULL)")
        w.execute("INSERT INTO t VALUES ('a', 1)")
    with pytest.raises(Exception):
        with db.write() as w:
            w.execute("UPDATE t SET n = 2 WHERE k = 'a'")
            w.execute("INSERT INTO t VALUES ('b', 1)")
            w.execute("INSERT INTO t VALUES ('a', 3)")  # duplicate key
            w.execute("INSERT INTO t VALUES ('c', 1)")
    assert db.read("SELECT k, n FROM t ORDER BY k") == [("a", 1)]
    with db.write() as w:  # the connection is usable afterwards
        w.execute("INSERT INTO t VALUES ('d', 4)")
        assert w.execute("UPDATE t SET n = n + 1 WHERE k = 'd' RETURNING n") == [(5,)]
        assert w.execute("SELECT COUNT(*) FROM t") == [(2,)]
