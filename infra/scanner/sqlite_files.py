"""The scanner's SQLite files (its vulnerability database, its inventories): a connection per
thread, WAL journal, and the schema written by the first connection only, so readers never
take a write lock to open a file."""

import sqlite3
import threading
from pathlib import Path


class SqliteFile:
    schema = ""  # CREATE ... IF NOT EXISTS statements
    marker = ""  # the table whose presence says the schema is complete

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._local = threading.local()

    def _connect(self) -> sqlite3.Connection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(self.path, timeout=60, isolation_level=None, check_same_thread=True)
            connection.execute("PRAGMA synchronous=NORMAL")
            made = connection.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (self.marker,)).fetchone()
            if made is None:
                connection.execute("PRAGMA journal_mode=WAL")
                connection.executescript(self.schema)
            self._local.connection = connection
        return connection

    def close(self) -> None:
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None
