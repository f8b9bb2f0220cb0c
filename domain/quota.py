"""A project's storage quota, and which repositories of a project reference a blob.

Usage counts each blob once per project however many repositories and
artifacts share it (`ProjectBlob` keeps the count). Every charge goes through
the project's one `Quota` aggregate, so concurrent pushes meet optimistic
concurrency conflicts and retry instead of overshooting the limit.
"""

from domain.base import Actor, RegistryAggregate
from domain.errors import BadRequest, Denied
from domain.names import project_stream_id

UNLIMITED = -1


def quota_id(project: str, generation: int):
    return project_stream_id("quota", generation, project)


def project_blob_id(project: str, digest: str, generation: int):
    return project_stream_id("project-blob", generation, project, digest)


def check_limit(limit: object) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or (limit < 0 and limit != UNLIMITED):
        raise BadRequest("hard.storage must be -1 (unlimited) or a non-negative integer of bytes",
                         {"field": "hard.storage"})
    return limit


class QuotaExceeded(Denied):
    """A push that would take the project over its storage limit."""


class Quota(RegistryAggregate):
    class Created(RegistryAggregate.Created):
        """A project's quota began to be tracked."""

        project: str
        limit: int

    class LimitChanged(RegistryAggregate.Event):
        """A project's storage limit changed."""

        project: str
        limit: int
        previous: int

        def apply(self, quota: "Quota") -> None:
            quota.limit = self.limit

    class Charged(RegistryAggregate.Event):
        """A blob new to the project now counts toward its usage."""

        project: str
        repository: str
        digest: str
        size: int
        used: int

        def apply(self, quota: "Quota") -> None:
            quota.used = self.used

    class Released(RegistryAggregate.Event):
        """No repository of the project references a blob any more; it stopped counting."""

        project: str
        digest: str
        size: int
        used: int

        def apply(self, quota: "Quota") -> None:
            quota.used = self.used
            if quota.limit == UNLIMITED or quota.used < quota.limit * quota.warn_ratio:
                quota.warned = False

    class Warned(RegistryAggregate.Event):
        """Usage crossed the warning threshold (QUOTA_WARNING)."""

        project: str
        used: int
        limit: int

        def apply(self, quota: "Quota") -> None:
            quota.warned = True

    class Exceeded(RegistryAggregate.Event):
        """A push was refused because it would exceed the limit (QUOTA_EXCEED)."""

        project: str
        repository: str
        digest: str
        size: int
        used: int
        limit: int

    warn_ratio = 0.85

    def __init__(self, project: str, limit: int) -> None:
        self.project = project
        self.limit = limit
        self.used = 0
        self.warned = False

    @classmethod
    def create(cls, project: str, limit: int, actor: Actor, *, generation: int) -> "Quota":
        return cls._create(cls.Created, id=quota_id(project, generation), project=project,
                           limit=check_limit(limit), **actor.fields())

    def set_limit(self, limit: int, actor: Actor) -> None:
        check_limit(limit)
        if limit != UNLIMITED and limit < self.used:
            raise BadRequest(f"hard.storage {limit} is below the project's current usage {self.used}",
                             {"field": "hard.storage"})
        if limit != self.limit:
            self.trigger_event(self.LimitChanged, project=self.project, limit=limit,
                               previous=self.limit, **actor.fields())

    def would_exceed(self, size: int) -> bool:
        return self.limit != UNLIMITED and self.used + size > self.limit

    def charge(self, repository: str, digest: str, size: int, actor: Actor) -> None:
        if self.would_exceed(size):
            raise QuotaExceeded(
                f"quota exceeded: project {self.project} storage limit is {self.limit} bytes, "
                f"{self.used} used, this blob needs {size}",
                {"project": self.project, "limit": self.limit, "used": self.used, "size": size})
        self.trigger_event(self.Charged, project=self.project, repository=repository, digest=digest,
                           size=size, used=self.used + size, **actor.fields())
        if self.limit > 0 and not self.warned and self.used >= self.limit * self.warn_ratio:
            self.trigger_event(self.Warned, project=self.project, used=self.used, limit=self.limit,
                               **actor.fields())

    def exceeded(self, repository: str, digest: str, size: int, actor: Actor) -> None:
        self.trigger_event(self.Exceeded, project=self.project, repository=repository, digest=digest,
                           size=size, used=self.used, limit=self.limit, **actor.fields())

    def release(self, digest: str, size: int, actor: Actor) -> None:
        self.trigger_event(self.Released, project=self.project, digest=digest, size=size,
                           used=max(self.used - size, 0), **actor.fields())


class ProjectBlob(RegistryAggregate):
    """How many repositories of a project reference a blob (a count, so it stays small
    however many repositories share a base layer). Callers reference and unreference
    only on a real change of a repository's link or manifest."""

    class Referenced(RegistryAggregate.Created):
        """A repository of the project began to reference a blob (the first one)."""

        project: str
        digest: str
        size: int
        repository: str

    class ReferencedAgain(RegistryAggregate.Event):
        """Another repository of the project references the blob."""

        repository: str

        def apply(self, blob: "ProjectBlob") -> None:
            blob.references += 1

    class Unreferenced(RegistryAggregate.Event):
        """A repository of the project stopped referencing the blob."""

        repository: str

        def apply(self, blob: "ProjectBlob") -> None:
            blob.references = max(blob.references - 1, 0)

    def __init__(self, project: str, digest: str, size: int, repository: str) -> None:
        self.project = project
        self.digest = digest
        self.size = size
        self.references = 1

    @classmethod
    def reference_first(cls, project: str, digest: str, size: int, repository: str,
                        actor: Actor, *, generation: int) -> "ProjectBlob":
        return cls._create(cls.Referenced, id=project_blob_id(project, digest, generation), project=project,
                           digest=digest, size=size, repository=repository, **actor.fields())

    def reference(self, repository: str, actor: Actor) -> bool:
        """One more reference; True if the blob starts counting for the project again."""
        counted_before = self.references > 0
        self.trigger_event(self.ReferencedAgain, repository=repository, **actor.fields())
        return not counted_before

    def unreference(self, repository: str, actor: Actor) -> bool:
        """One reference fewer; True if nothing in the project references the blob now."""
        if self.references == 0:
            return False
        self.trigger_event(self.Unreferenced, repository=repository, **actor.fields())
        return self.references == 0
