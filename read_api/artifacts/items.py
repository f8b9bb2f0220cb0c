"""Artifacts as Harbor answers them, with what the caller's `with_*` flags ask for: tags
(`with_tag`, on by default), their immutable status (`with_immutable_status`), labels
(`with_label`), accessories (`with_accessory`). `with_signature` is accepted and adds nothing,
as in Harbor since Notary went (signatures are accessories); `with_scan_overview` adds the
newest vulnerability scan's overview (read_api/scanning/overview.py); `with_sbom_overview`
the newest SBOM run's, with the digest of the SBOM accessory it stored."""

import msgspec

from domain.artifacts.kinds import artifact_kind
from domain.immutability import ImmutableRule
from infra.schemas.harbor import Artifact, Tag
from read_api.artifacts.facts import facts_of
from read_api.artifacts.accessories import accessory_resp
from read_api.rest_icons import icon_for
from read_api.scanning.overview import overviews as run_overviews

NEVER = "0001-01-01T00:00:00.000Z"


class Include(msgspec.Struct, frozen=True):
    tag: bool = True
    label: bool = False
    immutable_status: bool = False
    accessory: bool = False
    signature: bool = False
    scan_overview: bool = False
    sbom_overview: bool = False


def tag_resp(row, repository_id: int, artifact_id: int, immutable: bool = False) -> Tag:
    return Tag(id=row.id, repository_id=repository_id, artifact_id=artifact_id, name=row.name,
               push_time=row.moved_at, pull_time=NEVER, immutable=immutable)


def label_resp(row) -> dict:
    return {"id": row.id, "name": row.name, "description": row.description, "color": row.color,
            "scope": row.scope, "creation_time": row.creation_time, "update_time": row.update_time}


def immutable_test(registry, project: str):
    """A function telling whether (repository, tag) is immutable under the project's rules now."""
    rules = [msgspec.convert(rule, ImmutableRule) for rule in registry.policies.immutable_rules(project)]
    return lambda repository, tag: any(rule.protects(repository.split("/", 1)[1], tag) for rule in rules)


def artifact_resp(registry, row, project_id: int, repository_id: int, pulled: str | None = None,
                  tags: list | None = None, labels: list | None = None,
                  accessories: list | None = None, scan_overview: dict | None = None,
                  sbom_overview: dict | None = None) -> Artifact:
    facts = facts_of(registry, row.size, row.digest, row.media_type)
    kind = artifact_kind(row.media_type, row.artifact_type)
    return Artifact(id=row.id, type=kind, icon=icon_for(kind, row.artifact_type),
                    media_type=row.artifact_type or row.media_type, manifest_media_type=row.media_type,
                    artifact_type=row.artifact_type, project_id=project_id, repository_id=repository_id,
                    repository_name=row.repository, digest=row.digest, size=facts.size,
                    push_time=row.pushed_at, pull_time=pulled or NEVER, annotations=row.annotations,
                    references=[{"parent_id": row.id, "child_digest": child} for child in row.children],
                    tags=tags, extra_attrs=facts.extra_attrs, labels=labels, accessories=accessories,
                    scan_overview=scan_overview, sbom_overview=sbom_overview)


def artifact_items(registry, project: str, project_id: int, pairs: list, include: Include,
                   position: int | None) -> list[Artifact]:
    """(artifact row, last pull) pairs of one project, possibly of several repositories."""
    names = sorted({row.repository for row, _ in pairs})
    ids = registry.artifact_lists.repository_ids(names)
    immutable = immutable_test(registry, project) if include.tag and include.immutable_status else None
    tags: dict[tuple[str, str], list] = {}
    labels: dict[tuple[str, str], list] = {}
    overviews: dict[tuple[str, str], dict] = {}
    sbom_overviews: dict[tuple[str, str], dict] = {}
    for name in names:
        digests = [row.digest for row, _ in pairs if row.repository == name]
        if include.scan_overview:
            overviews.update(run_overviews(registry, name, digests, "vulnerability"))
        if include.sbom_overview:
            sbom_overviews.update(run_overviews(registry, name, digests, "sbom"))
        if include.tag:
            for tag in registry.history.tags(name, digests, position):
                tags.setdefault((name, tag.digest), []).append(tag)
        if include.label:
            for digest, found in registry.labels.of_artifacts(name, digests, position).items():
                labels[(name, digest)] = [label_resp(label) for label in found]
    items = []
    for row, pulled in pairs:
        key, repo_id = (row.repository, row.digest), ids.get(row.repository, 0)
        accessories = None
        if include.accessory:
            accessories = [accessory_resp(registry, row.repository, row, referrer)
                           for referrer in registry.queries.referrers(row.repository, row.digest)]
        items.append(artifact_resp(
            registry, row, project_id, repo_id, pulled,
            [tag_resp(t, repo_id, row.id, bool(immutable and immutable(row.repository, t.name)))
             for t in tags.get(key, [])] if include.tag else None,
            labels.get(key, []) if include.label else None, accessories,
            overviews.get(key, {}) if include.scan_overview else None,
            sbom_overviews.get(key) if include.sbom_overview else None))
    return items
