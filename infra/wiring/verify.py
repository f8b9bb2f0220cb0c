"""`tidemark events verify`: the log's hash chain holds, and replaying the whole
log into scratch projections gives exactly the live query models."""

from typing import Callable

import msgspec

from infra.store.sql import Database
from projections.audit.view import AuditView
from projections.audit.chain_view import GENESIS, link
from projections.iam_view import IamView
from projections.oci_view import OciView
from projections.projector import Projector, checksum

PAGE = 5000


class Report(msgspec.Struct):
    ok: bool
    events: int
    chain: str
    views: dict[str, str]


def verify_chain(app, db: Database, prefix: str = "chain_") -> tuple[bool, str, int]:
    """Recompute the chain from the log and compare it with the recorded one."""
    previous, position, count = GENESIS, 0, 0
    while True:
        notifications = app.recorder.select_notifications(start=position + 1, limit=PAGE)
        if not notifications:
            break
        recorded = dict(db.read(f"SELECT position, hash FROM {prefix}event_chain WHERE position >= ? "
                                "AND position <= ?", (notifications[0].id, notifications[-1].id)))
        for notification in notifications:
            expected = recorded.get(notification.id)
            previous = link(previous, notification)
            count += 1
            if expected is None:
                return False, f"event {notification.id} has no recorded hash (inserted?)", count
            if expected != previous:
                return False, f"event {notification.id} differs from what was recorded (edited?)", count
            position = notification.id
    extra = db.read(f"SELECT MIN(position) FROM {prefix}event_chain WHERE position > ?", (position,))
    if extra and extra[0][0] is not None:
        return False, f"event {extra[0][0]} was recorded but is missing from the log (deleted?)", count
    return True, f"{count} events chained, head {previous[:16]}", count


def verify(registry, progress: Callable[[str], None] = lambda message: None) -> Report:
    app, db = registry.app, registry.db
    registry.catch_up()
    ok, chain, count = verify_chain(app, db)
    progress(f"hash chain: {chain}")
    views: dict[str, str] = {}
    live_by_name = {p.view.name: p for p in registry.projectors}
    for factory in (OciView, IamView, AuditView):
        live = live_by_name[factory.name]
        scratch = factory(f"verify_{factory.name}_")
        replay = Projector(app, db, scratch, name=f"verify_{factory.name}", batch=PAGE)
        with db.write() as w:
            scratch.drop(w)
            w.execute("DELETE FROM projection_positions WHERE name = ?", (replay.name,))
        replay.setup()
        try:
            with live._lock:  # hold the live view still at one position while comparing
                live.catch_up()
                replay.catch_up(until=live.position())
                same = checksum(db, scratch.p, scratch.tables) == checksum(db, live.view.p, live.view.tables)
        finally:
            with db.write() as w:
                scratch.drop(w)
                w.execute("DELETE FROM projection_positions WHERE name = ?", (replay.name,))
        views[factory.name] = "matches" if same else "DIFFERS from a replay of the log"
        ok = ok and same
        progress(f"{factory.name}: {views[factory.name]}")
    return Report(ok=ok, events=count, chain=chain, views=views)
