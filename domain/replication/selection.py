"""What a replication policy selects (Harbor's filters) and where it lands (the destination
namespace rule).

Filters, each at most once per type:
- `name`: the repository path (`library/app`, `**` for all); `tag`: each tag. Both are
  doublestar patterns, or Tidemark's `"kind": "regex"` (a Python regular expression that
  must match the whole value); `decoration` `matches` (default) or `excludes`.
- `label`: a list of label names an artifact must all carry (`excludes`: none of them).
- `resource`: `image` (container images and indexes only) or `artifact` (everything); or
  Tidemark's `metadata`: the policy ships projects, members, robots and project policies to
  another Tidemark instead of artifacts (domain/replication/metadata.py), its name filter
  selecting project names.
"""

import msgspec

from domain.errors import BadRequest
from domain.selectors import Selector, check_selector, selected

FILTER_TYPES = ("name", "tag", "label", "resource")
RESOURCES = ("image", "artifact", "metadata")
IMAGE_CONFIGS = ("application/vnd.oci.image.config.v1+json", "application/vnd.docker.container.image.v1+json")
INDEXES = ("application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json")


class Filter(msgspec.Struct, frozen=True, kw_only=True):
    type: str
    value: object = None
    decoration: str = "matches"
    kind: str = "doublestar"


def check_filters(filters: list[Filter]) -> list[Filter]:
    seen: set[str] = set()
    checked = []
    for index, f in enumerate(filters):
        field = f"filters[{index}]"
        if f.type not in FILTER_TYPES:
            raise BadRequest(f"{field}.type: one of " + ", ".join(FILTER_TYPES), {"field": f"{field}.type"})
        if f.type in seen:
            raise BadRequest(f"{field}.type: one {f.type} filter per policy", {"field": f"{field}.type"})
        seen.add(f.type)
        decoration = f.decoration or "matches"
        if decoration not in ("matches", "excludes"):
            raise BadRequest(f"{field}.decoration: matches or excludes", {"field": f"{field}.decoration"})
        value = f.value
        if f.type in ("name", "tag"):
            if not isinstance(value, str) or not value:
                raise BadRequest(f"{field}.value: a pattern is required", {"field": f"{field}.value"})
            check_selector(Selector(f.kind, decoration, value), field)
        elif f.type == "label":
            if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
                raise BadRequest(f"{field}.value: a list of label names", {"field": f"{field}.value"})
        elif value not in RESOURCES:
            raise BadRequest(f"{field}.value: image, artifact or metadata", {"field": f"{field}.value"})
        checked.append(Filter(type=f.type, value=value, decoration=decoration, kind=f.kind))
    return checked


def is_metadata(filters: list) -> bool:
    """Whether a policy ships metadata (its resource filter says `metadata`)."""
    return any((f.type if isinstance(f, Filter) else f["type"]) == "resource"
               and (f.value if isinstance(f, Filter) else f["value"]) == "metadata" for f in filters)


def _selector(filters: list[dict], kind: str) -> list[Selector]:
    return [Selector(f.get("kind", "doublestar"), f.get("decoration", "matches"), f["value"])
            for f in filters if f["type"] == kind]


def repository_selected(filters: list[dict], repository: str) -> bool:
    return selected(_selector(filters, "name"), repository)


def tag_filtered(filters: list[dict]) -> bool:
    return any(f["type"] == "tag" for f in filters)


def tag_selected(filters: list[dict], tag: str) -> bool:
    return selected(_selector(filters, "tag"), tag)


def artifact_selected(filters: list[dict], media_type: str, config_type: str, labels: list[str]) -> bool:
    """The resource and label filters on one artifact."""
    for f in filters:
        if f["type"] == "resource" and f["value"] == "image":
            if media_type not in INDEXES and config_type not in IMAGE_CONFIGS:
                return False
    return labels_selected(filters, labels)


def label_filtered(filters: list[dict]) -> bool:
    return any(f["type"] == "label" for f in filters)


def labels_selected(filters: list[dict], labels: list[str]) -> bool:
    """The label filter on an artifact's label names."""
    for f in filters:
        if f["type"] == "label":
            carries = all(name in labels for name in f["value"])
            if f.get("decoration", "matches") == "excludes":
                carries = not any(name in labels for name in f["value"])
            if not carries:
                return False
    return True


def check_namespace(namespace: str, replace_count: int) -> str:
    namespace = namespace.strip().strip("/")
    if len(namespace) > 255:
        raise BadRequest("dest_namespace: at most 255 characters", {"field": "dest_namespace"})
    if namespace and not all(part and part == part.lower() and part.replace("-", "").replace(
            "_", "").replace(".", "").isalnum() for part in namespace.split("/")):
        raise BadRequest("dest_namespace: lower-case path components (letters, digits, '.', '_', '-')",
                         {"field": "dest_namespace"})
    if not -1 <= replace_count <= 100:
        raise BadRequest("dest_namespace_replace_count: -1 (replace the first component) to 100",
                         {"field": "dest_namespace_replace_count"})
    return namespace


def destination(repository: str, namespace: str, replace_count: int) -> str:
    """Where `repository` lands, as Harbor's rule: no namespace keeps the path; -1 replaces
    the first component; N replaces the first N (N = the whole path leaves the namespace);
    0 puts the whole path under the namespace."""
    if not namespace:
        return repository
    parts = repository.split("/")
    if replace_count < 0:
        return "/".join([namespace, *parts[1:]]) if len(parts) > 1 else f"{namespace}/{repository}"
    if replace_count == 0:
        return f"{namespace}/{repository}"
    if replace_count == len(parts):
        return namespace
    if replace_count < len(parts):
        return "/".join([namespace, *parts[replace_count:]])
    raise BadRequest(f"{repository} has fewer than {replace_count} path components to replace "
                     "(dest_namespace_replace_count)", {"field": "dest_namespace_replace_count"})
