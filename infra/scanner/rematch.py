"""After an import, the scanned images its records hit, found from the stored inventories:
no image is pulled or read again.

Only the packages an added or replaced record names are matched, and only against those
records; what an image's last scan (or an earlier re-match) already reported is not new.
"""

import time
from typing import Callable

import msgspec

from domain.scanning.matching import Hit, key_of, match
from infra.scanner.inventories import InventoryStore
from infra.scanner.vulndb import VulnDb, now_rfc3339


class RematchSummary(msgspec.Struct):
    records: int = 0  # added or replaced by the import
    images: int = 0  # stored inventories that name one of their packages
    affected_images: int = 0  # of which hit by something new
    findings: int = 0  # new (vulnerability, package, version) per image
    seconds: float = 0.0


def rematch(database: VulnDb, store: InventoryStore, number: int,
            progress: Callable[[int, int], None] | None = None) -> RematchSummary:
    started = time.perf_counter()
    changed = set(database.changed_in(number))
    summary = RematchSummary(records=len(changed))
    keys = database.package_keys(sorted(changed))
    digests = sorted(store.digests_with(keys))
    summary.images = len(digests)
    records: dict[tuple[str, str], list[dict]] = {}

    def lookup(family: str, name: str) -> list[dict]:
        if (family, name) not in records:
            records[family, name] = [r for r in database.lookup(family, name) if r.get("id") in changed]
        return records[family, name]

    found: dict[str, list[Hit]] = {}
    for done, digest in enumerate(digests, 1):
        inventory = store.inventory(digest)
        if inventory is not None:
            packages = [p for p in inventory.packages if key_of(p)[:2] in keys]
            known = store.known(digest)
            new = [h for h in match(packages, lookup) if (h.id, h.package, h.version) not in known]
            if new:
                found[digest] = new
        if progress is not None:
            progress(done, len(digests))
    summary.affected_images = len(found)
    summary.findings = sum(len(hits) for hits in found.values())
    if found:
        store.record_affected(number, now_rfc3339(), found)
    summary.seconds = time.perf_counter() - started
    return summary
