"""Security Hub reads over the vulnerability view: the system's vulnerability summary (sums
over the latest report of every artifact, one indexed pass) and the list of current findings
with Harbor's filters."""

from typing import Any

from infra.store.sql import Database

SEVERITY_COLUMNS = ("critical", "high", "medium", "low", "unknown")


class SecurityHubQueries:
    def __init__(self, db: Database, prefix: str = "vuln_", oci_prefix: str = "oci_") -> None:
        self.db = db
        self.p = prefix
        self.oci = oci_prefix

    def totals(self) -> dict[str, int]:
        """Sums of the latest reports of live artifacts, and the number of live artifacts."""
        sums = ", ".join(f"COALESCE(SUM({c}), 0)" for c in SEVERITY_COLUMNS)
        row = self.db.read(f"SELECT {sums}, COALESCE(SUM(total), 0), COALESCE(SUM(fixable), 0), COUNT(*) "
                           f"FROM {self.p}reports")[0]
        artifacts = self.db.read(f"SELECT COUNT(*) FROM {self.oci}manifests WHERE valid_to IS NULL")[0][0]
        critical, high, medium, low, unknown, total, fixable, scanned = (int(v) for v in row)
        return {"critical_cnt": critical, "high_cnt": high, "medium_cnt": medium, "low_cnt": low,
                "none_cnt": 0, "unknown_cnt": unknown, "total_vuls": total, "scanned_cnt": scanned,
                "total_artifact": int(artifacts), "fixable_cnt": fixable}

    def dangerous_cves(self, limit: int = 5) -> list[tuple]:
        """The critical CVEs with the highest CVSS v3 scores: (cve, severity, score, package,
        version, content)."""
        return self.db.read(f"SELECT cve_id, severity, cvss_v3, package, version, content FROM {self.p}findings "
                            "WHERE closed IS NULL AND rank = 4 ORDER BY COALESCE(cvss_v3, -1) DESC, cve_id "
                            "LIMIT ?", (limit,))

    def dangerous_artifacts(self, limit: int = 5) -> list[tuple]:
        """(project, repository, digest, critical, high, medium) of the most vulnerable artifacts."""
        return self.db.read(f"SELECT project, repository, digest, critical, high, medium FROM {self.p}reports "
                            "WHERE critical + high + medium > 0 "
                            "ORDER BY critical DESC, high DESC, medium DESC, repository, digest LIMIT ?", (limit,))

    def vulnerabilities(self, where: str, params: list, tag: str | None, offset: int, limit: int,
                        count: bool) -> tuple[list[tuple], int | None]:
        """Current findings matching `where` (columns of the findings table as `f.`), newest
        report first: (project, repository, digest, cve, severity, cvss, package, version,
        fix_version, content)."""
        join, join_params = "", []
        if tag is not None:
            join = (f" JOIN {self.oci}tags t ON t.repository = f.repository AND t.digest = f.digest "
                    "AND t.valid_to IS NULL AND t.tag = ?")
            join_params = [tag]
        base = f"FROM {self.p}findings f{join} WHERE f.closed IS NULL" + (f" AND {where}" if where else "")
        rows = self.db.read(f"SELECT f.project, f.repository, f.digest, f.cve_id, f.severity, f.cvss_v3, "
                            f"f.package, f.version, f.fix_version, f.content {base} "
                            "ORDER BY f.rank DESC, f.cve_id, f.repository, f.digest, f.package LIMIT ? OFFSET ?",
                            [*join_params, *params, limit, offset])
        total = self.db.read(f"SELECT COUNT(*) {base}", [*join_params, *params])[0][0] if count else None
        return rows, total

    def tags_of(self, artifacts: list[tuple[str, str]]) -> dict[tuple[str, str], list[str]]:
        if not artifacts:
            return {}
        marks = " OR ".join("(repository = ? AND digest = ?)" for _ in artifacts)
        params: list[Any] = [v for pair in artifacts for v in pair]
        rows = self.db.read(f"SELECT repository, digest, tag FROM {self.oci}tags WHERE valid_to IS NULL "
                            f"AND ({marks}) ORDER BY tag", params)
        tags: dict[tuple[str, str], list[str]] = {}
        for repository, digest, tag in rows:
            tags.setdefault((repository, digest), []).append(tag)
        return tags
