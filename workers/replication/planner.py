"""What an execution copies: its tasks, one per repository and operation.

- Push, manual or scheduled: every local repository the name filter selects, with its tagged
  artifacts the tag, label and resource filters select.
- Push, event-based: the changes the execution covers (pushes of tags and accessories, and
  deletions when `replicate_deletion` is on), filtered the same way.
- Metadata (resource filter `metadata`): one task shipping the log up to the execution's
  end (workers/replication/metadata.py).
- Pull: the source's repositories (its catalog, or the name filter's literal names where
  a registry has no catalog, as Docker Hub), with their tags the tag filter selects (and, from
  a harbor source, whose artifacts carry the labels the label filter names).
"""

from collections import defaultdict

from domain.replication.selection import (
    artifact_selected, destination, is_metadata, label_filtered, labels_selected, repository_selected, tag_filtered,
    tag_selected)
from infra.replication.errors import ReplicationError
from workers.replication.metadata import plan_metadata
from workers.replication.push import config_type
from workers.replication.remote import harbor_labels, remote_repository

GLOB = set("*?[]{}")


def resource(repository: str, tags: list[str], digest: str = "") -> str:
    if tags:
        return f"{repository}:[{','.join(sorted(tags))}]"
    return f"{repository}@{digest}" if digest else repository


def plan(registry, execution, endpoint: dict, client) -> list[dict]:
    policy = execution.policy
    if is_metadata(policy["filters"]):
        return plan_metadata(registry, execution)
    if policy["src_registry_id"]:
        return _pull_plan(registry, policy, endpoint, client)
    if execution.trigger == "event_based":
        return _event_plan(registry, policy, execution.resources)
    return _push_plan(registry, policy)


def _selected_artifact(registry, policy: dict, repository: str, digest: str) -> bool:
    row = registry.queries.manifest(repository, digest)
    if row is None:
        return False
    filters = policy["filters"]
    needs_config = any(f["type"] == "resource" for f in filters)
    config = config_type(registry.blobs.read(digest)) if needs_config else ""
    labels = []
    if any(f["type"] == "label" for f in filters):
        labels = [label.name for label in registry.labels.of_artifacts(repository, [digest], None).get(digest, [])]
    return artifact_selected(filters, row.media_type, config, labels)


def _push_task(policy: dict, repository: str, items: list[dict], resource_type: str = "image") -> dict:
    target = destination(repository, policy["dest_namespace"], policy["dest_namespace_replace_count"])
    tags = sorted({t for item in items for t in item.get("tags", [])})
    digest = items[0]["digest"] if len(items) == 1 else ""
    return {"operation": "copy", "resource_type": resource_type, "src_resource": resource(repository, tags, digest),
            "dst_resource": resource(target, tags, digest),
            "work": {"repository": repository, "destination": target, "items": items}}


def _push_plan(registry, policy: dict) -> list[dict]:
    filters = policy["filters"]
    tasks = []
    for repository in registry.queries.repositories(None, None):
        if not repository_selected(filters, repository):
            continue
        by_digest: dict[str, list[str]] = defaultdict(list)
        for tag in registry.queries.tags(repository, None, None):
            if tag_selected(filters, tag):
                digest = registry.queries.tag(repository, tag)
                if digest:
                    by_digest[digest].append(tag)
        items = [{"digest": d, "tags": sorted(t)} for d, t in sorted(by_digest.items())
                 if _selected_artifact(registry, policy, repository, d)]
        if items:
            tasks.append(_push_task(policy, repository, items))
    return tasks


def _event_plan(registry, policy: dict, resources: list[dict]) -> list[dict]:
    filters = policy["filters"]
    copies: dict[str, dict[str, set]] = defaultdict(lambda: defaultdict(set))
    deletions: dict[str, list[dict]] = defaultdict(list)
    children = {c for r in resources for c in r.get("children", [])}
    for change in resources:
        repository = change["repository"]
        if not repository_selected(filters, repository):
            continue
        tag = change.get("tag") or ""
        if tag and not tag_selected(filters, tag):
            continue
        if change["operation"] == "deletion":
            if policy.get("replicate_deletion"):
                deletions[repository].append({"digest": change.get("digest", ""), "tag": tag})
            continue
        if not tag and (change["digest"] in children or (tag_filtered(filters) and not change.get("subject"))):
            continue  # an index's child travels with the index; a tag filter selects tags
        if not _selected_artifact(registry, policy, repository, change["digest"]):
            continue
        tags = copies[repository][change["digest"]]
        if tag:
            tags.add(tag)
    tasks = []
    for repository, digests in sorted(copies.items()):
        items = [{"digest": d, "tags": sorted(t)} for d, t in sorted(digests.items())]
        tasks.append(_push_task(policy, repository, items))
    for repository, items in sorted(deletions.items()):
        target = destination(repository, policy["dest_namespace"], policy["dest_namespace_replace_count"])
        names = [i["tag"] or i["digest"] for i in items]
        tasks.append({"operation": "deletion", "resource_type": "image",
                      "src_resource": f"{repository}:[{','.join(names)}]",
                      "dst_resource": f"{target}:[{','.join(names)}]",
                      "work": {"repository": repository, "destination": target, "items": items}})
    return tasks


def _pull_plan(registry, policy: dict, endpoint: dict, client) -> list[dict]:
    filters = policy["filters"]
    names = [f["value"] for f in filters if f["type"] == "name" and f.get("decoration", "matches") == "matches"
             and f.get("kind", "doublestar") == "doublestar"]
    try:
        repositories = client.catalog()
    except ReplicationError:
        literal = [n for n in names if not GLOB & set(n)]
        if not literal:
            raise
        repositories = [remote_repository(endpoint, n) for n in literal]
    tasks = []
    for repository in sorted(repositories):
        if not repository_selected(filters, repository) and not repository_selected(
                filters, repository.removeprefix("library/")):
            continue
        tags = [t for t in client.tags(repository) if tag_selected(filters, t)]
        if tags and label_filtered(filters):  # a harbor source (checked with the policy)
            labels = harbor_labels(registry, endpoint, repository)
            tags = [t for t in tags if labels_selected(filters, labels.get(t, []))]
        if not tags:
            continue
        local = destination(repository, policy["dest_namespace"], policy["dest_namespace_replace_count"])
        if "/" not in local:
            raise ReplicationError(f"{repository} has no project component here; set dest_namespace to "
                                   "the local project")
        tasks.append({"operation": "copy", "resource_type": "image", "src_resource": resource(repository, tags),
                      "dst_resource": resource(local, tags),
                      "work": {"repository": repository, "destination": local,
                               "items": [{"tag": t} for t in sorted(tags)]}})
    return tasks
