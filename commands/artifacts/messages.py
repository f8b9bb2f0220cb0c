"""Commands: what a caller asks the registry to do."""

from typing import Any

import msgspec

from domain.base import Actor
from domain.artifacts.manifest_format import ParsedManifest


class CreateProject(msgspec.Struct, frozen=True):
    name: str
    public: bool
    actor: Actor
    owner: str | None = None  # a user who becomes the project's first projectAdmin
    metadata: dict[str, object] = {}  # more metadata keys, checked by the aggregate
    allowlist: Any = None  # a commands.project_settings.Allowlist
    registry_id: int = 0  # a proxy-cache project of this registry endpoint (0: an ordinary one)


class LinkBlob(msgspec.Struct, frozen=True):
    repository: str
    digest: str
    size: int
    actor: Actor


class MountBlob(msgspec.Struct, frozen=True):
    repository: str
    digest: str
    from_repository: str
    actor: Actor


class UnlinkBlob(msgspec.Struct, frozen=True):
    repository: str
    digest: str
    actor: Actor


class PushManifest(msgspec.Struct, frozen=True):
    repository: str
    digest: str
    size: int
    parsed: ParsedManifest
    tag: str | None
    actor: Actor


class DeleteManifest(msgspec.Struct, frozen=True):
    repository: str
    digest: str
    tags: list[str]
    actor: Actor
    cause: dict | None = None  # why, when a policy decided (e.g. a retention run and rule)
    # Deleted with it, in the same save: accessories and an index's own manifests -> their tags
    dependents: dict[str, list[str]] = {}


class RemoveTag(msgspec.Struct, frozen=True):
    repository: str
    tag: str
    actor: Actor
    cause: dict | None = None


class AbandonUpload(msgspec.Struct, frozen=True):
    repository: str
    upload_id: str
    received_bytes: int
    reason: str
    actor: Actor


class Outcome(msgspec.Struct, frozen=True):
    """What a handled command left behind: the log position of its last event, if any."""

    position: int | None = None
    size: int | None = None


class AddTag(msgspec.Struct, frozen=True):
    repository: str
    tag: str
    digest: str
    actor: Actor
    restored_from: int | None = None  # a tag restore: the log position the digest comes from


class DeleteRepository(msgspec.Struct, frozen=True):
    repository: str
    manifests: dict[str, list[str]]  # digest -> tags pointing at it
    actor: Actor


class UndeleteManifest(msgspec.Struct, frozen=True):
    repository: str
    digest: str
    size: int
    parsed: ParsedManifest
    actor: Actor
