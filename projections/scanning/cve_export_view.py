"""CVE export executions (domain/scanning/cve_export.py) and the rows of their files.

An execution's id is the log position of its request (Harbor's ids are integers). Its file is
the findings view (projections/scanning/vulnerability_view.py) as of the request's position,
with the tags artifacts had then, so a download is the same file whenever it is made.
"""

import json
from typing import Any

import msgspec

from domain.scanning.cve_export import CveExport
from infra.store.sql import Database, Writer
from projections.times import stamp
from projections.view import View


class ExportRow(msgspec.Struct, frozen=True):
    id: int
    stream: str
    owner: str
    owner_id: int
    job_name: str
    projects: list[str]
    labels: list[int]
    repositories: str
    cve_ids: str
    tags: str
    data_position: int
    created_at: str


class CveExportView(View):
    name = "cve_exports"
    tables = ("exports",)
    indexes = ("exports_owner",)

    def __init__(self, prefix: str = "vuln_") -> None:
        super().__init__(prefix)
        self.handlers = {CveExport.Requested: self._requested, CveExport.Deleted: self._deleted}

    def statements(self) -> list[str]:
        return [f"""CREATE TABLE IF NOT EXISTS {self.p}exports (
            id BIGINT PRIMARY KEY, stream TEXT NOT NULL UNIQUE, owner TEXT NOT NULL, owner_id BIGINT NOT NULL,
            job_name TEXT NOT NULL, projects TEXT NOT NULL, labels TEXT NOT NULL, repositories TEXT NOT NULL,
            cve_ids TEXT NOT NULL, tags TEXT NOT NULL, data_position BIGINT NOT NULL, created_at TEXT NOT NULL)""",
                f"CREATE INDEX IF NOT EXISTS {self.p}exports_owner ON {self.p}exports (owner_id)"]

    def _requested(self, w: Writer, e: Any, pos: int) -> set:
        w.execute(f"INSERT INTO {self.p}exports VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                  (pos, str(e.originator_id), e.owner, e.owner_id, e.job_name, json.dumps(e.projects),
                   json.dumps(e.labels), e.repositories, e.cve_ids, e.tags, e.data_position, stamp(e.timestamp)))
        return set()

    def _deleted(self, w: Writer, e: Any, pos: int) -> set:
        w.execute(f"DELETE FROM {self.p}exports WHERE stream = ?", (str(e.originator_id),))
        return set()


COLUMNS = ("id, stream, owner, owner_id, job_name, projects, labels, repositories, cve_ids, tags, "
           "data_position, created_at")


def _row(r: tuple) -> ExportRow:
    return ExportRow(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]), json.loads(r[6]), *r[7:])


class CveExportQueries:
    def __init__(self, db: Database, prefix: str = "vuln_", oci_prefix: str = "oci_") -> None:
        self.db = db
        self.p = prefix
        self.oci = oci_prefix

    def of_owner(self, owner_id: int) -> list[ExportRow]:
        return [_row(r) for r in self.db.read(f"SELECT {COLUMNS} FROM {self.p}exports WHERE owner_id = ? "
                                              "ORDER BY id DESC", (owner_id,))]

    def one(self, export_id: int, owner_id: int) -> ExportRow | None:
        rows = self.db.read(f"SELECT {COLUMNS} FROM {self.p}exports WHERE id = ? AND owner_id = ?",
                            (export_id, owner_id))
        return _row(rows[0]) if rows else None

    def findings(self, projects: list[str], position: int) -> list[tuple]:
        """(scanner, repository, digest, cve, package, version, fix, severity, cvss, content) of
        the projects' findings as of `position`."""
        if not projects:
            return []
        marks = ", ".join("?" for _ in projects)
        return self.db.read(
            f"SELECT COALESCE(r.scanner, ''), f.repository, f.digest, f.cve_id, f.package, f.version, "
            f"f.fix_version, f.severity, f.cvss_v3, f.content FROM {self.p}findings f "
            f"LEFT JOIN {self.p}runs r ON r.scan = f.report_id WHERE f.project IN ({marks}) "
            "AND f.appeared <= ? AND (f.closed IS NULL OR f.closed > ?) "
            "ORDER BY f.repository, f.digest, f.rank DESC, f.cve_id, f.package",
            [*projects, position, position])

    def tags_at(self, projects: list[str], position: int) -> dict[tuple[str, str], list[str]]:
        tags: dict[tuple[str, str], list[str]] = {}
        for project in projects:
            rows = self.db.read(f"SELECT repository, digest, tag FROM {self.oci}tags WHERE repository >= ? "
                                "AND repository < ? AND valid_from <= ? AND (valid_to IS NULL OR valid_to > ?) "
                                "ORDER BY tag", (f"{project}/", f"{project}0", position, position))
            for repository, digest, tag in rows:
                tags.setdefault((repository, digest), []).append(tag)
        return tags
