"""The receiving side of metadata replication: POST /replication/metadata/batches takes a
batch of another Tidemark's project, robot and policy events (commands/replication/metadata.py)
and answers what it acknowledged. System administrators only: a batch creates robots and
members, so no robot permission reaches it."""

import anyio.to_thread
from litestar import Request, post
from litestar.params import JSONBody

from commands.replication.metadata import MetadataBatch, Taken
from infra.http.replication import METADATA
from infra.http.rest import caller


@post(METADATA + "/batches", status_code=200)
async def take_batch(request: Request, data: JSONBody[MetadataBatch]) -> Taken:
    who = await caller(request)
    registry = who.registry

    def take() -> Taken:
        taken = registry.metadata_receiver.take(data, who.actor)
        registry.catch_up_reads()
        return taken

    return await anyio.to_thread.run_sync(take)


ROUTES = [take_batch]
