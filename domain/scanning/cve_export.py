"""A CVE export: someone asked for the current findings of some projects as a file.

The request records its filters and the log position it was made at; the file is the findings
view as of that position, rendered when downloaded, so it is the same file every time and
needs no storage of its own. Deleting the execution records that it is gone.
"""

import uuid

from domain.base import Actor, RegistryAggregate
from domain.errors import BadRequest, Conflict

MAX_FILTER = 1024
MAX_PROJECTS = 100


class CveExport(RegistryAggregate):
    class Requested(RegistryAggregate.Created):
        """A CVE export was asked for."""

        job_name: str
        owner: str
        owner_id: int
        projects: list[str]
        labels: list[int]
        repositories: str
        cve_ids: str
        tags: str
        data_position: int

    class Deleted(RegistryAggregate.Event):
        """The export's owner deleted it."""

        def apply(self, export: "CveExport") -> None:
            export.deleted = True

    def __init__(self, job_name: str, owner: str, owner_id: int, projects: list[str], labels: list[int],
                 repositories: str, cve_ids: str, tags: str, data_position: int) -> None:
        self.job_name, self.owner, self.owner_id = job_name, owner, owner_id
        self.projects, self.labels = projects, labels
        self.repositories, self.cve_ids, self.tags = repositories, cve_ids, tags
        self.data_position = data_position
        self.deleted = False

    @classmethod
    def request(cls, job_name: str, owner: str, owner_id: int, projects: list[str], labels: list[int],
                repositories: str, cve_ids: str, tags: str, data_position: int, actor: Actor) -> "CveExport":
        if not projects:
            raise BadRequest("projects must name at least one project", {"field": "projects"})
        if len(projects) > MAX_PROJECTS:
            raise BadRequest(f"an export covers at most {MAX_PROJECTS} projects", {"field": "projects"})
        for field, value in (("job_name", job_name), ("repositories", repositories), ("cveIds", cve_ids),
                             ("tags", tags)):
            if len(value) > MAX_FILTER:
                raise BadRequest(f"{field} is longer than {MAX_FILTER} characters", {"field": field})
        return cls._create(cls.Requested, id=uuid.uuid4(), job_name=job_name, owner=owner, owner_id=owner_id,
                           projects=list(projects), labels=list(labels), repositories=repositories,
                           cve_ids=cve_ids, tags=tags, data_position=data_position, **actor.fields())

    def delete(self, actor: Actor) -> None:
        if self.deleted:
            raise Conflict("the export was already deleted")
        self.trigger_event(self.Deleted, **actor.fields())
