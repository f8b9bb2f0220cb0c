"""What this Tidemark took from other Tidemarks' metadata policies: GET
/replication/metadata/sources, one entry per source with the position it acknowledged,
counts and the latest conflicts (a sending policy reads its own entry to resume)."""

import anyio.to_thread
import msgspec
from litestar import Request, get
from litestar.params import FromQuery

from domain.replication.metadata import MetadataSource
from domain.topics import stored_topics
from infra.http.replication import METADATA
from infra.http.rest import caller


class MetadataSourceResp(msgspec.Struct, frozen=True):
    source: str
    acknowledged: int
    applied: int
    skipped: int
    conflict_count: int
    conflicts: list[dict]
    update_time: str


def _sources(registry, wanted: str | None) -> list[MetadataSourceResp]:
    app = registry.app
    found, start = [], 1
    while True:
        page = app.recorder.select_notifications(start=start, limit=1000, topics=stored_topics(MetadataSource.Started))
        if not page:
            break
        found += [n.originator_id for n in page]
        start = page[-1].id + 1
    answer = []
    for stream in found:
        s = app.find(stream, MetadataSource)
        if s is not None and (wanted is None or s.source == wanted):
            answer.append(MetadataSourceResp(s.source, s.acknowledged, s.applied, s.skipped, s.conflict_count,
                                             s.conflicts, s.updated))
    return sorted(answer, key=lambda r: r.source)


@get(METADATA + "/sources")
async def list_sources(request: Request, source: FromQuery[str | None] = None) -> list[MetadataSourceResp]:
    who = await caller(request)
    return await anyio.to_thread.run_sync(_sources, who.registry, source)


ROUTES = [list_sources]
