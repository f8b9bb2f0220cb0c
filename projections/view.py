"""What every table-backed view shares: its schema, dropping it, and dispatching
events to its handlers by event class."""

from typing import Any, Callable

from infra.store.sql import Writer


def in_project(column: str, project: str) -> tuple[str, list]:
    """A condition for rows whose repository (in `column`) is inside the project, as an indexed
    range: `<project>/` up to `<project>0` (the character after the slash)."""
    return f"{column} >= ? AND {column} < ?", [f"{project}/", f"{project}0"]


class View:
    """Subclasses set `name`, `tables`, `indexes`, `statements(prefix)` and `handlers`."""

    name = ""
    tables: tuple[str, ...] = ()
    indexes: tuple[str, ...] = ()
    handlers: dict[type, Callable[[Writer, Any, int], set]]

    def __init__(self, prefix: str) -> None:
        self.p = prefix

    def statements(self) -> list[str]:
        raise NotImplementedError

    def create(self, w: Writer) -> None:
        for statement in self.statements():
            w.execute(statement)

    def drop(self, w: Writer) -> None:
        for table in self.tables:
            w.execute(f"DROP TABLE IF EXISTS {self.p}{table}")

    def drop_indexes(self, w: Writer) -> None:
        for index in self.indexes:
            w.execute(f"DROP INDEX IF EXISTS {self.p}{index}")

    def apply(self, w: Writer, event: Any, position: int) -> set:
        """Apply one event; return the cache keys it makes stale."""
        handler = self.handlers.get(type(event))
        return handler(w, event, position) if handler else set()
