"""A backend for one run: a data directory and, for PostgreSQL, a database of its own."""
from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Any

from bench.history_parts.common import ADMIN_PASSWORD, PG_ADMIN_URL, say


class Backend:
    """A data directory, and for PostgreSQL a database of its own, dropped at the end."""

    def __init__(self, kind: str, keep: bool) -> None:
        self.kind = kind
        self.keep = keep
        self.data_dir = tempfile.mkdtemp(prefix=f"tidemark-history-{kind}-")
        self.db_name: str | None = None
        self.database_url = ""
        if kind == "postgres":
            import psycopg

            self.db_name = f"tidemark_bench_{uuid.uuid4().hex[:10]}"
            with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{self.db_name}"')
            base = PG_ADMIN_URL.rsplit("/", 1)[0]
            self.database_url = f"{base}/{self.db_name}"

    def settings(self):
        from infra.settings import Settings

        return Settings(data_dir=self.data_dir, database_url=self.database_url,
                        admin_password=ADMIN_PASSWORD, log_level="warning")

    def server_env(self) -> dict:
        env = dict(os.environ)
        env["TIDEMARK_ADMIN_PASSWORD"] = ADMIN_PASSWORD
        env["TIDEMARK_LOG_LEVEL"] = "warning"
        env.pop("TIDEMARK_DATABASE_URL", None)
        if self.database_url:
            env["TIDEMARK_DATABASE_URL"] = self.database_url
        return env

    def sizes(self) -> dict:
        out: dict[str, Any] = {}
        if self.kind == "sqlite":
            for name in ("events.sqlite", "views.sqlite"):
                path = Path(self.data_dir) / name
                wal = Path(str(path) + "-wal")
                out[name + "_mb"] = round(((path.stat().st_size if path.exists() else 0)
                                           + (wal.stat().st_size if wal.exists() else 0)) / 1e6, 1)
        else:
            import psycopg

            with psycopg.connect(self.database_url, autocommit=True) as conn:
                out["database_mb"] = round(conn.execute(
                    "SELECT pg_database_size(current_database())").fetchone()[0] / 1e6, 1)
        return out

    def cleanup(self) -> None:
        if self.keep:
            say(f"kept data dir {self.data_dir}" + (f" and database {self.db_name}" if self.db_name else ""))
            return
        shutil.rmtree(self.data_dir, ignore_errors=True)
        if self.db_name:
            import psycopg

            with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')


def open_registry(backend: Backend):
    from infra.wiring.registry import build_registry

    registry = build_registry(backend.settings())
    registry.start(follow=False)
    return registry
