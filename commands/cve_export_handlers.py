"""Asking for a CVE export and deleting one (domain/scanning/cve_export.py)."""

from uuid import UUID

import msgspec

from commands.artifacts.messages import Outcome
from commands.retries import retried
from domain.base import Actor
from domain.errors import NotFound
from domain.scanning.cve_export import CveExport


class RequestCveExport(msgspec.Struct, frozen=True):
    job_name: str
    owner: str
    owner_id: int
    projects: list[str]
    labels: list[int]
    repositories: str
    cve_ids: str
    tags: str
    actor: Actor


class DeleteCveExport(msgspec.Struct, frozen=True):
    export_id: str
    actor: Actor


class CveExportCommands:
    def __init__(self, app) -> None:
        self.app = app

    def request(self, c: RequestCveExport) -> Outcome:
        """Record the request, with the log head as the moment its file shows."""
        export = CveExport.request(c.job_name, c.owner, c.owner_id, c.projects, c.labels, c.repositories,
                                   c.cve_ids, c.tags, self.app.head(), c.actor)
        recordings = self.app.save(export)
        return Outcome(position=recordings[-1].notification.id)

    @retried
    def delete(self, c: DeleteCveExport) -> Outcome:
        export = self.app.find(UUID(c.export_id), CveExport)
        if export is None:
            raise NotFound("export execution not found")
        export.delete(c.actor)
        recordings = self.app.save(export)
        return Outcome(position=recordings[-1].notification.id)
