"""Rebuilding a view beside the live one, then switching over in one transaction."""

from typing import Any, Callable

from infra.store.sql import Database
from projections.projector import Projector, checksum


def rebuild(app: Any, db: Database, view_factory: Callable[[str], Any], live: Projector,
            progress: Callable[[int, int], None] | None = None) -> str:
    """Replay the whole log into fresh tables, swap them in, return their checksum."""
    scratch_prefix = live.view.p.rstrip("_") + "_rebuild_"
    scratch = view_factory(scratch_prefix)
    projector = Projector(app, db, scratch, name=f"{live.name}_rebuild", batch=5000)
    with db.write() as w:
        scratch.drop(w)
        w.execute("DELETE FROM projection_positions WHERE name = ?", (projector.name,))
    projector.setup()
    with db.write() as w:  # secondary indexes are built once at the swap, not row by row
        scratch.drop_indexes(w)
    head = app.recorder.max_notification_id() or 0
    while True:
        reached = projector.catch_up()
        if progress:
            progress(reached, head)
        if reached >= (app.recorder.max_notification_id() or 0):
            break
    with live._lock, db.write() as w:  # the live projector waits while we switch
        reached = w.execute("SELECT position FROM projection_positions WHERE name = ?",
                            (projector.name,))[0][0]
        live.view.drop(w)
        scratch.drop_indexes(w)
        for table in scratch.tables:
            w.execute(f"ALTER TABLE {scratch_prefix}{table} RENAME TO {live.view.p}{table}")
        live.view.create(w)  # recreates the live indexes on the renamed tables
        w.execute("UPDATE projection_positions SET position = ? WHERE name = ?",
                  (reached, live.name))
        w.execute("DELETE FROM projection_positions WHERE name = ?", (projector.name,))
    live.on_stale({("all",)})
    live.catch_up()
    return checksum(db, live.view.p, live.view.tables)
