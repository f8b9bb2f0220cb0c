"""Charging and releasing project storage, inside the same save as the link it follows."""

import random
import time

from eventsourcing.persistence import IntegrityError, RecordConflictError

from domain.base import SYSTEM, Actor
from domain.names import project_of
from domain.quota import UNLIMITED, ProjectBlob, Quota, QuotaExceeded, project_blob_id, quota_id


class QuotaAccounting:
    """`loaded` (optional, per command) keeps one instance of each aggregate when one
    command charges or releases several blobs of the same project."""

    def __init__(self, app) -> None:
        self.app = app

    def _find(self, aggregate_id, kind, loaded: dict | None):
        if loaded is not None and aggregate_id in loaded:
            return loaded[aggregate_id]
        found = self.app.find(aggregate_id, kind)
        if loaded is not None and found is not None:
            loaded[aggregate_id] = found
        return found

    def quota(self, project: str, generation: int, loaded: dict | None = None) -> Quota:
        quota = self._find(quota_id(project, generation), Quota, loaded)
        if quota is None:
            quota = Quota.create(project, UNLIMITED, SYSTEM, generation=generation)
            if loaded is not None:
                loaded[quota.id] = quota
        return quota

    def generation(self, repository: str) -> int:
        from domain.errors import NameUnknown
        from domain.project import Project, project_id

        project = self.app.find(project_id(project_of(repository)), Project)
        if project is None or project.deleted:
            raise NameUnknown("repository name not known to registry: its project does not exist",
                              {"name": repository})
        return project.generation

    def would_exceed(self, repository: str, digest: str, size: int) -> bool:
        """A read-only pre-check, so refused bytes are never moved into storage."""
        project, generation = project_of(repository), self.generation(repository)
        blob = self.app.find(project_blob_id(project, digest, generation), ProjectBlob)
        if blob is not None and blob.references:
            return False
        return self.quota(project, generation).would_exceed(size)

    def _record_exceeded(self, repository: str, digest: str, size: int, actor: Actor) -> Quota:
        """Save QUOTA_EXCEED; other pushers may be charging the same quota, so retry from a
        fresh load on a conflict (the refusal stands either way)."""
        for _ in range(25):
            quota = self.quota(project_of(repository), self.generation(repository))
            quota.exceeded(repository, digest, size, actor)
            try:
                self.app.save(quota)
                return quota
            except (RecordConflictError, IntegrityError):
                time.sleep(random.uniform(0, 0.005))
        return quota

    def refuse_if_over(self, repository: str, digest: str, size: int, actor: Actor) -> None:
        """Record QUOTA_EXCEED and refuse, if linking this blob would go over the limit."""
        if self.would_exceed(repository, digest, size):
            quota = self._record_exceeded(repository, digest, size, actor)
            raise QuotaExceeded(
                f"quota exceeded: project {quota.project} storage limit is {quota.limit} bytes, "
                f"{quota.used} used, this blob needs {size}",
                {"project": quota.project, "limit": quota.limit, "used": quota.used, "size": size})

    def charge(self, repository: str, digest: str, size: int, actor: Actor, generation: int,
               loaded: dict | None = None) -> list:
        """Aggregates to save with the link; QuotaExceeded (after recording it) if over the limit."""
        project = project_of(repository)
        blob = self._find(project_blob_id(project, digest, generation), ProjectBlob, loaded)
        if blob is None:
            blob = ProjectBlob.reference_first(project, digest, size, repository, actor, generation=generation)
            counts = True
        else:
            counts = blob.reference(repository, actor)
        if not counts:
            return [blob]
        quota = self.quota(project, generation, loaded)
        try:
            quota.charge(repository, digest, size, actor)
        except QuotaExceeded:
            self._record_exceeded(repository, digest, size, actor)
            raise
        return [blob, quota]

    def release(self, repository: str, digest: str, actor: Actor, generation: int,
                loaded: dict | None = None) -> list:
        project = project_of(repository)
        blob = self._find(project_blob_id(project, digest, generation), ProjectBlob, loaded)
        if blob is None or not blob.unreference(repository, actor):
            return [blob] if blob is not None else []
        quota = self.quota(project, generation, loaded)
        quota.release(digest, blob.size, actor)
        return [blob, quota]
