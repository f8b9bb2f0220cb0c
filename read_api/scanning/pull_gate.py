"""The vulnerability pull gate (Harbor's "Prevent vulnerable images from running"): with the
project's `prevent_vul` on, a manifest GET of an artifact whose latest report holds a finding
at or above the project's `severity`, not exempted by the allowlist that applies (the
project's, or the system's with `reuse_sys_cve_allowlist`; an expired list exempts nothing),
is refused with Harbor's message. An artifact never scanned is let through, as in Harbor; so
is one no scanner could scan (`scans(project, media_type)`, set by the scan wiring).

A decision depends only on (project settings version, system allowlist, report id) and the
clock against the allowlist's expiry, so it is cached on that key: a pull of an unchanged
artifact costs two indexed reads and a dict lookup. Every refusal carries its evidence.
"""

import json
import threading
import time
from collections import OrderedDict
from typing import Callable

from domain.artifacts.manifest_format import IMAGE_TYPES, INDEX_TYPES
from domain.scanning.allowlist import active_items, effective_allowlist, refusal_message, threshold
from infra.http.pull_gates import Decision, PullSubject
from projections.scanning.vulnerability_queries import VulnerabilityQueries

MAX_CACHED = 20_000
IMAGE_CONFIGS = (None, "", "application/vnd.oci.image.config.v1+json",
                 "application/vnd.docker.container.image.v1+json")


def images_only(project: str, media_type: str) -> bool:
    """The default `scans`: images and image indexes."""
    return media_type in IMAGE_TYPES or media_type in INDEX_TYPES


class VulnerabilityGate:
    name = "vulnerability"

    def __init__(self, queries: VulnerabilityQueries, system_allowlist: Callable[[], dict],
                 clock: Callable[[], float] = time.time) -> None:
        self.queries = queries
        self.system_allowlist = system_allowlist
        self.clock = clock
        self.scans: Callable[[str, str], bool] = images_only
        self._cache: OrderedDict[tuple, tuple[Decision, float]] = OrderedDict()
        self._lock = threading.Lock()

    def applies(self, metadata: dict[str, str]) -> bool:
        return metadata.get("prevent_vul") == "true"

    def decide(self, subject: PullSubject, metadata: dict[str, str], position: int | None) -> Decision:
        if subject.artifact_type not in IMAGE_CONFIGS or not self.scans(subject.project, subject.media_type):
            return Decision(self.name, True, evidence={"scannable": False})
        found = self.queries.gate_key(subject.project, subject.repository, subject.digest)
        if found is None or found[1] is None:  # not scanned: let through, as Harbor does
            return Decision(self.name, True, evidence={"report_id": None})
        settings_version, report_id, stored_allowlist, stored_metadata = found
        system_list = self.system_allowlist() if metadata.get("reuse_sys_cve_allowlist") == "true" else None
        key = (subject.repository, subject.digest, settings_version, report_id,
               json.dumps(system_list, sort_keys=True) if system_list is not None else None)
        now = self.clock()
        with self._lock:
            hit = self._cache.get(key)
        if hit is not None and now < hit[1]:
            return hit[0]
        # decided from the settings row the key names (the metadata handed in may be a moment older)
        metadata = json.loads(stored_metadata)
        if metadata.get("prevent_vul") != "true":
            return Decision(self.name, True)
        project_list = json.loads(stored_allowlist) if stored_allowlist else None
        decision, until = self._decide(subject, metadata, project_list, system_list, settings_version,
                                       report_id, now)
        with self._lock:
            self._cache[key] = (decision, until)
            self._cache.move_to_end(key)
            while len(self._cache) > MAX_CACHED:
                self._cache.popitem(last=False)
        return decision  # PullGates logs every refusal with this evidence

    def _decide(self, subject, metadata, project_list, system_list, settings_version, report_id, now):
        rank, shown = threshold(metadata)
        source, allowlist = effective_allowlist(metadata, project_list, system_list)
        exempt = active_items(allowlist, now)
        expires = allowlist.get("expires_at")
        until = expires if expires is not None and expires > now else float("inf")
        matched = [cve for cve in self.queries.blocking(subject.repository, subject.digest, rank)
                   if cve not in exempt]
        evidence = {"policy_version": settings_version, "allowlist": source,
                    "allowlist_version": settings_version if source == "project"
                    else self.queries.system_allowlist_version(),
                    "report_id": report_id, "severity": shown, "matched": matched[:20]}
        if not matched:
            return Decision(self.name, True, evidence=evidence), until
        return Decision(self.name, False, refusal_message(len(matched), shown), evidence), until
