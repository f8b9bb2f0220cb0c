"""Query model of scan runs: one row per run (domain/scanning/scan.py), with its status, the
scanner that ran it, its summary and what happened, for scan_overview, the report log, the
scan worker (runs not finished yet) and scan-all metrics.

Findings stay in the events (the vulnerability views read them); a row holds the summary only.
An SBOM run that completed names its accessory in `sboms` (a table of its own, so views
built before SBOM runs existed need no new column).

It also keeps the pushes the scan worker has yet to look at for auto_scan (`pushes`): a
manifest pushed, or a tag pushed onto a manifest the repository held; the worker takes
them off once it has decided (so a restart resumes with those still queued).
"""

import json
from typing import Any

import msgspec

from domain.artifacts.manifest import Manifest
from domain.artifacts.tag import Tag
from domain.project import Project
from domain.scanning.scan import Scan
from infra.store.sql import Database, Writer
from projections.times import stamp
from projections.view import View, in_project

OPEN = ("Pending", "Running")


class RunRow(msgspec.Struct, frozen=True):
    scan_key: str
    project: str
    repository: str
    digest: str
    generation: int
    kind: str
    run: int
    status: str
    trigger: str
    scanner: str
    scanner_name: str
    media_type: str
    scanner_request: str
    scanner_version: str
    report_media_type: str
    summary: dict | None
    reason: str
    requested_at: str
    started_at: str | None
    ended_at: str | None
    position: int
    actor: str


COLUMNS = ", ".join(RunRow.__struct_fields__)


class ScanRunView(View):
    name = "scan_runs"
    tables = ("runs", "pushes", "sboms")
    indexes = ("runs_artifact", "runs_status", "runs_position")

    def __init__(self, prefix: str = "scr_") -> None:
        super().__init__(prefix)
        self.handlers = {
            Scan.Requested: self._requested,
            Scan.Submitted: self._submitted,
            Scan.Completed: self._completed,
            Scan.Failed: self._failed,
            Scan.Stopped: self._stopped,
            Project.Deleted: self._project_deleted,
            Manifest.Pushed: self._pushed,
            Manifest.Repushed: self._pushed,
            Tag.Created: self._tag_pushed,
            Tag.Moved: self._tag_pushed,
        }

    def statements(self) -> list[str]:
        return [
            f"""CREATE TABLE IF NOT EXISTS {self.p}runs (
                scan_key TEXT PRIMARY KEY, project TEXT NOT NULL, repository TEXT NOT NULL,
                digest TEXT NOT NULL, generation INTEGER NOT NULL, kind TEXT NOT NULL,
                run INTEGER NOT NULL, status TEXT NOT NULL, trigger TEXT NOT NULL, scanner TEXT NOT NULL,
                scanner_name TEXT NOT NULL, media_type TEXT NOT NULL, scanner_request TEXT NOT NULL,
                scanner_version TEXT NOT NULL, report_media_type TEXT NOT NULL, summary TEXT,
                reason TEXT NOT NULL, requested_at TEXT NOT NULL, started_at TEXT, ended_at TEXT,
                position BIGINT NOT NULL, actor TEXT NOT NULL)""",
            f"""CREATE UNIQUE INDEX IF NOT EXISTS {self.p}runs_artifact
                ON {self.p}runs (repository, digest, generation, kind, run)""",
            f"CREATE INDEX IF NOT EXISTS {self.p}runs_status ON {self.p}runs (status)",
            f"CREATE INDEX IF NOT EXISTS {self.p}runs_position ON {self.p}runs (position)",
            f"""CREATE TABLE IF NOT EXISTS {self.p}pushes (
                repository TEXT NOT NULL, digest TEXT NOT NULL, position BIGINT NOT NULL,
                PRIMARY KEY (repository, digest))""",
            f"""CREATE TABLE IF NOT EXISTS {self.p}sboms (
                scan_key TEXT PRIMARY KEY, sbom_digest TEXT NOT NULL)""",
        ]

    def _pushed(self, w: Writer, e: Any, pos: int) -> set:
        if getattr(e, "undeleted", False):
            return set()
        self._queue(w, e.repository, e.digest, pos)
        return set()

    def _tag_pushed(self, w: Writer, e: Any, pos: int) -> set:
        if e.pushed:
            self._queue(w, e.repository, e.digest, pos)
        return set()

    def _queue(self, w: Writer, repository: str, digest: str, pos: int) -> None:
        w.execute(f"DELETE FROM {self.p}pushes WHERE repository = ? AND digest = ?", (repository, digest))
        w.execute(f"INSERT INTO {self.p}pushes VALUES (?, ?, ?)", (repository, digest, pos))

    def _requested(self, w: Writer, e: Any, pos: int) -> set:
        w.execute(f"DELETE FROM {self.p}runs WHERE scan_key = ?", (str(e.originator_id),))
        w.execute(f"INSERT INTO {self.p}runs ({COLUMNS}) VALUES ({', '.join('?' * 22)})",
                  (str(e.originator_id), e.project, e.repository, e.digest, e.generation, e.kind, e.run,
                   "Pending", e.trigger, e.scanner, e.scanner_name, e.media_type, "", "", "", None, "",
                   stamp(e.timestamp), None, None, pos, e.actor))
        return set()

    def _submitted(self, w: Writer, e: Any, pos: int) -> set:
        w.execute(f"UPDATE {self.p}runs SET status = 'Running', scanner_request = ?, "
                  "started_at = COALESCE(started_at, ?) WHERE scan_key = ?",
                  (e.scanner_request, stamp(e.timestamp), str(e.originator_id)))
        return set()

    def _completed(self, w: Writer, e: Any, pos: int) -> set:
        w.execute(f"UPDATE {self.p}runs SET status = 'Success', scanner_version = ?, report_media_type = ?, "
                  "summary = ?, ended_at = ? WHERE scan_key = ?",
                  (e.scanner_version, e.report_media_type, json.dumps(e.summary), stamp(e.timestamp),
                   str(e.originator_id)))
        if e.sbom_digest:
            w.execute(f"INSERT INTO {self.p}sboms VALUES (?, ?) ON CONFLICT DO NOTHING",
                      (str(e.originator_id), e.sbom_digest))
        return set()

    def _failed(self, w: Writer, e: Any, pos: int) -> set:
        w.execute(f"UPDATE {self.p}runs SET status = 'Error', reason = ?, ended_at = ? WHERE scan_key = ?",
                  (e.reason, stamp(e.timestamp), str(e.originator_id)))
        return set()

    def _stopped(self, w: Writer, e: Any, pos: int) -> set:
        w.execute(f"UPDATE {self.p}runs SET status = 'Stopped', reason = ?, ended_at = ? WHERE scan_key = ?",
                  (f"stopped by {e.actor}", stamp(e.timestamp), str(e.originator_id)))
        return set()

    def _project_deleted(self, w: Writer, e: Any, pos: int) -> set:
        condition, params = in_project("repository", e.name)
        w.execute(f"DELETE FROM {self.p}sboms WHERE scan_key IN (SELECT scan_key FROM {self.p}runs "
                  f"WHERE {condition})", params)
        w.execute(f"DELETE FROM {self.p}runs WHERE {condition}", params)
        w.execute(f"DELETE FROM {self.p}pushes WHERE {condition}", params)
        return set()


class ScanRuns:
    """Reads over the scan-run view."""

    def __init__(self, db: Database, prefix: str = "scr_") -> None:
        self.db = db
        self.p = prefix

    def _rows(self, where: str, params: tuple | list) -> list[RunRow]:
        rows = self.db.read(f"SELECT {COLUMNS} FROM {self.p}runs WHERE {where}", params)
        return [RunRow(*r[:15], json.loads(r[15]) if r[15] else None, *r[16:]) for r in rows]

    def latest(self, repository: str, digest: str, generation: int, kind: str) -> RunRow | None:
        rows = self._rows("repository = ? AND digest = ? AND generation = ? AND kind = ? "
                          "ORDER BY run DESC LIMIT 1", (repository, digest, generation, kind))
        return rows[0] if rows else None

    def latest_of(self, repository: str, digests: list[str], generation: int) -> dict[tuple[str, str], RunRow]:
        """The newest run of each (digest, kind) among `digests` (scan_overview of a page)."""
        if not digests:
            return {}
        marks = ", ".join("?" * len(digests))
        rows = self._rows(f"repository = ? AND generation = ? AND digest IN ({marks}) ORDER BY run",
                          (repository, generation, *digests))
        return {(r.digest, r.kind): r for r in rows}

    def sbom_digests(self, scan_keys: list[str]) -> dict[str, str]:
        """scan key -> the SBOM accessory its run stored, for the SBOM runs among `scan_keys`."""
        if not scan_keys:
            return {}
        marks = ", ".join("?" * len(scan_keys))
        return dict(self.db.read(f"SELECT scan_key, sbom_digest FROM {self.p}sboms WHERE scan_key IN ({marks})",
                                 list(scan_keys)))

    def sbom_digest(self, repository: str, digest: str, generation: int) -> str | None:
        """The SBOM accessory of the artifact's newest SBOM run that stored one."""
        rows = self.db.read(f"SELECT s.sbom_digest FROM {self.p}sboms s JOIN {self.p}runs r "
                            "ON r.scan_key = s.scan_key WHERE r.repository = ? AND r.digest = ? "
                            "AND r.generation = ? AND r.kind = 'sbom' ORDER BY r.run DESC LIMIT 1",
                            (repository, digest, generation))
        return rows[0][0] if rows else None

    def by_key(self, scan_key: str) -> RunRow | None:
        rows = self._rows("scan_key = ?", (scan_key,))
        return rows[0] if rows else None

    def unfinished(self, limit: int = 100) -> list[RunRow]:
        return self._rows(f"status IN ('Pending', 'Running') ORDER BY position LIMIT {int(limit)}", ())

    def counts(self, trigger: str | None = None, since: int = 0) -> dict[str, int]:
        """Runs by status (of one trigger, requested after position `since`)."""
        where, params = "position > ?", [since]
        if trigger:
            where, params = where + " AND trigger = ?", [since, trigger]
        rows = self.db.read(f"SELECT status, COUNT(*) FROM {self.p}runs WHERE {where} GROUP BY status", params)
        return {status: count for status, count in rows}

    def pushes(self, limit: int = 100) -> list[tuple[str, str, int]]:
        """Pushes the worker has yet to look at: (repository, digest, position), oldest first."""
        return [tuple(r) for r in self.db.read(
            f"SELECT repository, digest, position FROM {self.p}pushes ORDER BY position LIMIT {int(limit)}", ())]

    def done_with_push(self, repository: str, digest: str, position: int) -> None:
        with self.db.write() as w:
            w.execute(f"DELETE FROM {self.p}pushes WHERE repository = ? AND digest = ? AND position = ?",
                      (repository, digest, position))
