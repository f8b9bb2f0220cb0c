"""Which CVEs a project's pull policy lets through: its own CVE allowlist, or the system's when
the project reuses it (`reuse_sys_cve_allowlist`), as Harbor does. An allowlist whose
`expires_at` (seconds since the epoch) has passed exempts nothing."""

from typing import Any

# Harbor's project `severity` values and the lowest finding severity each one refuses
# (ranks of domain.scanning.scan.SEVERITIES: Unknown 0 ... Critical 4).
THRESHOLDS = {"none": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}
SHOWN = {"none": "None", "low": "Low", "medium": "Medium", "high": "High", "critical": "Critical"}


def effective_allowlist(metadata: dict[str, str], project_list: dict | None,
                        system_list: dict | None) -> tuple[str, dict]:
    """("project" or "system", the list {"items": [ids], "expires_at"}) that applies."""
    if metadata.get("reuse_sys_cve_allowlist") == "true":
        items = [i.get("cve_id") for i in (system_list or {}).get("items") or [] if isinstance(i, dict)]
        return "system", {"items": items, "expires_at": (system_list or {}).get("expires_at")}
    return "project", {"items": list((project_list or {}).get("items") or []),
                       "expires_at": (project_list or {}).get("expires_at")}


def active_items(allowlist: dict, now: float) -> frozenset[str]:
    """The CVE ids the list exempts at `now` (none once it expired)."""
    expires = allowlist.get("expires_at")
    if expires is not None and expires <= now:
        return frozenset()
    return frozenset(allowlist.get("items") or [])


def state_of(cve_id: str, allowlist: dict, now: float) -> str:
    """"allowlisted", "expired" (listed, but the list expired) or "" (not listed)."""
    if cve_id not in (allowlist.get("items") or []):
        return ""
    return "allowlisted" if cve_id in active_items(allowlist, now) else "expired"


def threshold(metadata: dict[str, Any]) -> tuple[int, str]:
    """(lowest refused rank, the severity as Harbor shows it) of a project with prevent_vul."""
    severity = str(metadata.get("severity") or "low").lower()
    return THRESHOLDS.get(severity, 1), SHOWN.get(severity, "Low")


def refusal_message(count: int, severity: str) -> str:
    """Harbor's words for a pull its vulnerability policy refuses."""
    return (f"current image with {count} vulnerabilities cannot be pulled due to configured policy in "
            f"'Prevent images with vulnerability severity of \"{severity}\" or higher from running.' "
            "To continue with pull, please contact your project administrator to exempt matched "
            "vulnerabilities through configuring the CVE allowlist.")
