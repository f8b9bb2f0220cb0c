"""An artifact's `size` and `extra_attrs` as Harbor computes them at push time, here from the
stored manifest and config bytes when first asked (content-addressed, so each digest's facts
are kept for good once computed):

- size: an image (or any manifest) is its manifest bytes + its config + its layers (foreign
  layers too, as their descriptors give them); an index is its own bytes + the size of every
  manifest it lists, each counted in full (Harbor's rule: shared layers are counted per child).
- extra_attrs: for an image, `architecture`, `os`, `author`, `created`, `variant` (when set)
  and `config` from the image config; for a Helm chart, or any artifact whose config is JSON,
  the config object itself; nothing for an index or an empty config.
"""

import json
import threading
from collections import OrderedDict

import msgspec

from domain.artifacts.manifest_format import INDEX_TYPES

IMAGE_CONFIGS = {"application/vnd.oci.image.config.v1+json",
                 "application/vnd.docker.container.image.v1+json"}
EMPTY_CONFIG = "application/vnd.oci.empty.v1+json"
MAX_CONFIG = 1 << 20  # a config bigger than this is not read for extra_attrs
_KEPT = 4096


class Facts(msgspec.Struct, frozen=True):
    size: int
    extra_attrs: dict


_known: OrderedDict[str, Facts] = OrderedDict()
_lock = threading.Lock()  # asked from worker threads


def _read(registry, digest: str) -> bytes | None:
    content = registry.content.get(digest)
    if content is not None:
        return content
    try:
        return registry.blobs.read(digest)
    except OSError:
        return None  # collected since (a deleted artifact seen with `at=`)


def _descriptor_size(descriptor) -> int:
    size = descriptor.get("size") if isinstance(descriptor, dict) else None
    return size if isinstance(size, int) and size >= 0 else 0


def _extra_attrs(registry, config: dict) -> dict:
    media_type = config.get("mediaType")
    if media_type == EMPTY_CONFIG or not str(media_type or "").endswith("json") \
            or _descriptor_size(config) > MAX_CONFIG or not isinstance(config.get("digest"), str):
        return {}
    content = _read(registry, config["digest"])
    try:
        document = json.loads(content) if content else None
    except ValueError:
        return {}
    if not isinstance(document, dict):
        return {}
    if media_type not in IMAGE_CONFIGS:
        return document
    attrs = {"architecture": document.get("architecture", ""), "os": document.get("os", ""),
             "author": document.get("author", ""), "created": document.get("created"),
             "config": document.get("config")}
    if document.get("variant"):
        attrs["variant"] = document["variant"]
    return attrs


def _compute(registry, row_size: int, digest: str, media_type: str, depth: int) -> Facts | None:
    content = _read(registry, digest)
    try:
        document = json.loads(content) if content else None
    except ValueError:
        document = None
    if not isinstance(document, dict):
        return None
    size = len(content)
    if media_type in INDEX_TYPES:
        for child in document.get("manifests") or []:
            if not isinstance(child, dict) or not isinstance(child.get("digest"), str):
                continue
            facts = facts_of(registry, _descriptor_size(child), child["digest"],
                             str(child.get("mediaType", "")), depth + 1) if depth < 3 else None
            size += facts.size if facts else _descriptor_size(child)
        return Facts(size, {})
    config = document.get("config") if isinstance(document.get("config"), dict) else {}
    size += _descriptor_size(config) + sum(_descriptor_size(layer) for layer in document.get("layers") or [])
    return Facts(size, _extra_attrs(registry, config))


def facts_of(registry, row_size: int, digest: str, media_type: str, depth: int = 0) -> Facts:
    """The artifact's facts; the manifest's own size and no attributes when its bytes are gone."""
    with _lock:
        found = _known.get(digest)
        if found is not None:
            _known.move_to_end(digest)
            return found
    found = _compute(registry, row_size, digest, media_type, depth)
    if found is None:
        return Facts(row_size, {})
    with _lock:
        _known[digest] = found
        if len(_known) > _KEPT:
            _known.popitem(last=False)
    return found
